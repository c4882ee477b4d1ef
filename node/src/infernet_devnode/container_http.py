"""What the node accepts of a container's HTTP answer beyond its body: redirects and charset.

Only a 307 or 308 (which keep the method and the body, RFC 9110 section 15.4) to the container's
own origin is followed, at most ``MAX_REDIRECTS`` times, as the service follows its backend:
anything else would store what another address answers as the job's result. An answer must be
UTF-8 (RFC 8259 section 8.1), the only encoding in which the node can find its secrets.
"""

from __future__ import annotations

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .redaction import Redactor

__all__ = ["MAX_REDIRECTS", "AnswerRefused", "check_charset", "post_following_redirects"]

MAX_REDIRECTS = 3
_FOLLOWED_REDIRECTS = frozenset({307, 308})
# How much of a redirect's Location is quoted in the failure reason.
_MAX_LOCATION = 300
# Charsets whose bytes are UTF-8: UTF-8 itself and ASCII, a subset of it.
_UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class AnswerRefused(Exception):
    """A container answer the node refuses; the message is the job's failure reason."""


async def post_following_redirects(
    session: aiohttp.ClientSession,
    url: URL,
    body: bytes,
    headers: CIMultiDict[str],
    redactor: Redactor,
    limits: aiohttp.ClientTimeout,
) -> aiohttp.ClientResponse:
    """POST ``body`` to ``url``, following same-origin 307/308 redirects; the answer's body is
    left to read.

    Raises:
        AnswerRefused: any other redirect (another origin, 301/302/303, any 3xx) or more than
            ``MAX_REDIRECTS``, naming the status and the Location (redacted).
    """
    first = url
    for _hop in range(MAX_REDIRECTS + 1):
        response = await session.post(
            url, data=body, headers=headers, allow_redirects=False, timeout=limits
        )
        if not 300 <= response.status < 400:
            return response
        response.close()  # its body is never read: the connection is spent
        location = response.headers.get("Location", "")
        if response.status not in _FOLLOWED_REDIRECTS or not _same_origin(url, location):
            quoted = redactor.quote(location, _MAX_LOCATION)
            raise AnswerRefused(
                f"{url} answered HTTP {response.status} with Location {quoted!r}; the node"
                " follows only redirects to the same origin with 307 or 308 (which keep the"
                " job's body)"
            )
        url = url.join(URL(location))
    raise AnswerRefused(f"{first} redirected more than {MAX_REDIRECTS} times")


def _same_origin(url: URL, location: str) -> bool:
    """Whether ``location`` (absolute or relative to ``url``) has ``url``'s scheme, host and
    port."""
    try:
        return url.join(URL(location)).origin() == url.origin()
    except ValueError:  # not a URL, or one without an origin
        return False


def check_charset(response: aiohttp.ClientResponse) -> None:
    """Refuse an answer declared in a charset other than UTF-8 (or ASCII).

    Raises:
        AnswerRefused: it is, naming the charset.
    """
    charset = response.charset
    if charset is not None and charset.lower() not in _UTF8_CHARSETS:
        raise AnswerRefused(
            f"answer declares charset {charset[:40]!r}; the node reads container answers as"
            " UTF-8 only (it could not remove its secrets from text in another encoding)"
        )
