"""Secret redaction (redaction.py): any JSON spelling of a secret, in parsed answers, raw text,
error quotes and byte streams."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from infernet_devnode.redaction import REDACTED
from infernet_devnode.redaction import Redactor

# Characters JSON must escape in a string (RFC 8259 section 7) and their two-character escapes.
_MUST_ESCAPE = {'"': '\\"', "\\": "\\\\"}
_SHORT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "/": "\\/"}
_SHORT.update(_MUST_ESCAPE)
TRICKY = 'quo"te\\slash-s\u00e9cret-\U0001f511'

secrets = st.text(min_size=8, max_size=24).filter(lambda s: s not in REDACTED)


@st.composite
def json_spellings(draw: st.DrawFn, secret: str) -> str:
    """``secret`` as the inside of a JSON string, each character spelled one of the ways JSON
    allows: as is (where allowed), a two-character escape, or \\uXXXX in either case."""
    out = []
    for char in secret:
        code = ord(char)
        ways = ["u"]
        if char in _SHORT:
            ways.append("short")
        if char not in _MUST_ESCAPE and code >= 0x20:
            ways.append("as-is")
        way = draw(st.sampled_from(ways))
        if way == "as-is":
            out.append(char)
        elif way == "short":
            out.append(_SHORT[char])
        else:
            units = [code] if code < 0x10000 else _surrogates(code)
            upper = draw(st.booleans())
            out.append("".join(f"\\u{u:04X}" if upper else f"\\u{u:04x}" for u in units))
    return "".join(out)


def _surrogates(code: int) -> list[int]:
    high, low = divmod(code - 0x10000, 0x400)
    return [0xD800 + high, 0xDC00 + low]


def strings_of(value: Any) -> list[str]:
    """Every string and key in a parsed JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_of(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return []


@settings(max_examples=200, deadline=None)
@given(data=st.data(), secret=secrets)
def test_any_json_spelling_of_a_secret_is_redacted_from_the_parsed_answer(
    data: st.DataObject, secret: str
) -> None:
    key, value, inner = (data.draw(json_spellings(secret)) for _ in range(3))
    answer = f'{{"{key}": "{value}", "list": ["before {inner} after", 1]}}'
    parsed = json.loads(answer)
    assert any(secret in s for s in strings_of(parsed))  # the spelling is the secret
    redacted = Redactor([secret]).value(parsed)
    assert not any(secret in s for s in strings_of(redacted))
    assert redacted["list"][1] == 1


@settings(max_examples=200, deadline=None)
@given(data=st.data(), secret=secrets)
def test_any_json_spelling_of_a_secret_is_redacted_from_raw_text(
    data: st.DataObject, secret: str
) -> None:
    spelled = data.draw(json_spellings(secret))
    text = f'{{"error": "bad {spelled} input"}}'
    redacted = Redactor([secret]).text(text)
    assert json.loads(redacted) == {"error": f"bad {REDACTED} input"}


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(TRICKY, id="as-is"),
        pytest.param(json.dumps(TRICKY)[1:-1], id="json-ascii"),
        pytest.param(json.dumps(TRICKY, ensure_ascii=False)[1:-1], id="json-unicode"),
        pytest.param(repr(TRICKY)[1:-1], id="python-str-repr"),
        pytest.param(repr(TRICKY.encode())[2:-1], id="python-bytes-repr"),
        pytest.param("".join(f"%{b:02X}" for b in TRICKY.encode()), id="percent-encoded"),
    ],
)
def test_error_quotes_redact_every_spelling(spelling: str) -> None:
    quoted = Redactor([TRICKY]).quote(f"Bad status line: b'HTTP/1.1 2x0 {spelling}'", 1_000)
    assert quoted == f"Bad status line: b'HTTP/1.1 2x0 {REDACTED}'"


def test_error_quotes_see_a_secret_interleaved_with_nuls() -> None:
    utf16 = "x-secret-value-1".encode("utf-16-le").decode("utf-8")  # what a UTF-8 reader sees
    assert Redactor(["x-secret-value-1"]).quote(utf16, 1_000) == REDACTED


def test_error_quotes_cut_at_the_limit_after_redacting() -> None:
    secret = "s3cret-value-xyz"
    text = "a" * 995 + json.dumps(secret)[1:-1].replace("s", "\\u0073")
    quoted = Redactor([secret]).quote(text, 1_000)
    assert quoted == "a" * 995 + REDACTED[:5]


def test_all_digit_secrets_are_redacted_from_numbers() -> None:
    assert Redactor(["1234567890"]).value({"n": 9912345678901, "m": 5}) == {"n": REDACTED, "m": 5}


@pytest.mark.parametrize("piece", [1, 5, 64])
def test_stream_redacts_escaped_spellings_split_across_chunks(piece: int) -> None:
    escaped = json.dumps(TRICKY)[1:-1].encode()
    text = b"a " + escaped + b" b " + TRICKY.encode() + b" c"
    redactor = Redactor([TRICKY]).stream()
    out = b"".join(redactor.feed(text[i : i + piece]) for i in range(0, len(text), piece))
    out += redactor.flush()
    assert out == b"a [redacted] b [redacted] c"


def test_stream_holds_back_only_what_could_begin_a_secret() -> None:
    redactor = Redactor(["top-secret-bearer", TRICKY]).stream()
    assert redactor.feed(b"tokens pass at once, ") == b"tokens pass at once, "
    assert redactor.feed(b"but top-sec") == b"but "
    assert redactor.feed(b"tion is not one; quo\\u0022t") == b"top-section is not one; "
    assert redactor.feed(b"e\\\\slash-s\xc3") == b""
    assert redactor.feed(b"\xa9cret-\xf0\x9f\x94\x91!") == b"[redacted]!"
    assert redactor.flush() == b""


@settings(max_examples=200, deadline=None)
@given(data=st.data(), secret=secrets, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_a_stream_cut_anywhere_never_passes_a_secret(
    data: st.DataObject, secret: str, cuts: list[int]
) -> None:
    spelled = data.draw(json_spellings(secret)).encode()
    text = b'{"a": "' + spelled + b'", "b": "' + secret.encode() + b'"}'
    redactor = Redactor([secret]).stream()
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    out = b"".join(redactor.feed(text[a:b]) for a, b in itertools.pairwise(bounds))
    out += redactor.flush()
    assert json.loads(out) == {"a": REDACTED, "b": REDACTED}


def test_error_quotes_redact_a_secret_holding_a_control_character() -> None:
    secret = "abc\x1fdefghij"
    assert Redactor([secret]).quote(f"oops {secret}!", 1_000) == f"oops {REDACTED}!"
