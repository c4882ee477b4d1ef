"""A backend's cookies never travel with a later job's request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from threaded_server import ThreadedServer


class CookieSettingBackend:
    """A text-classification backend that sets a cookie on every answer and records the
    `Cookie` header of every request."""

    def __init__(self) -> None:
        self.cookies: list[str | None] = []
        self.app = web.Application()
        self.app.router.add_post("/models/{owner}/{name}", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        self.cookies.append(request.headers.get("Cookie"))
        answer = web.json_response([[{"label": "POSITIVE", "score": 0.9}]])
        answer.set_cookie("job", f"secret-of-job-{len(self.cookies)}")
        return answer


@pytest.fixture
def cookie_backend() -> Iterator[tuple[CookieSettingBackend, int]]:
    backend = CookieSettingBackend()
    with ThreadedServer(backend.app) as server:
        yield backend, server.port


def test_cookie_set_by_one_answer_is_not_sent_with_the_next_job(
    start_service, cookie_backend: tuple[CookieSettingBackend, int]
) -> None:
    backend, port = cookie_backend
    # A host name, not an IP address: cookie jars keep cookies for names.
    service = start_service(endpoint=f"http://localhost:{port}")
    for i in range(3):
        data = {"task_id": 2, "text": f"job {i}"}
        answer = service.post({"source": 1, "destination": 1, "data": data})
        assert answer.status_code == 200, answer.text
    assert backend.cookies == [None, None, None]
