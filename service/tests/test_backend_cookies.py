"""A backend's cookies never travel with a later job's request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web
from service_harness import listening_socket


class CookieSettingBackend:
    """A text-classification backend that sets a cookie on every answer and records the
    `Cookie` header of every request (aiohttp's server, in its own thread)."""

    def __init__(self) -> None:
        self.cookies: list[str | None] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._sock = listening_socket()
        self.port = self._sock.getsockname()[1]

    async def _answer(self, request: web.Request) -> web.Response:
        self.cookies.append(request.headers.get("Cookie"))
        answer = web.json_response([[{"label": "POSITIVE", "score": 0.9}]])
        answer.set_cookie("job", f"secret-of-job-{len(self.cookies)}")
        return answer

    async def _start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/models/{owner}/{name}", self._answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, self._sock).start()
        return runner

    def __enter__(self) -> CookieSettingBackend:
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def cookie_backend() -> Iterator[CookieSettingBackend]:
    with CookieSettingBackend() as backend:
        yield backend


def test_cookie_set_by_one_answer_is_not_sent_with_the_next_job(
    start_service, cookie_backend: CookieSettingBackend
) -> None:
    # A host name, not an IP address: cookie jars keep cookies for names.
    service = start_service(endpoint=f"http://localhost:{cookie_backend.port}")
    for i in range(3):
        data = {"task_id": 2, "text": f"job {i}"}
        answer = service.post({"source": 1, "destination": 1, "data": data})
        assert answer.status_code == 200, answer.text
    assert cookie_backend.cookies == [None, None, None]
