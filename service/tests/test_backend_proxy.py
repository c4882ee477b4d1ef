"""The standard proxy variables steer the backend calls (looked up once per backend URL)."""

from __future__ import annotations

import pytest
from service_harness import OfflineBackendProcess

# A backend host that resolves nowhere: only a proxy can reach it.
UNREACHABLE = "http://backend.invalid:9"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
JOB = {"source": 1, "destination": 1, "data": {"task_id": 2, "text": "via the proxy"}}


def test_http_proxy_carries_every_backend_call(
    start_service, backend: OfflineBackendProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in plays the proxy: it answers the absolute-form request for the unreachable
    # host. The tests' own client (to 127.0.0.1) is kept off the proxy by NO_PROXY.
    monkeypatch.setenv("HTTP_PROXY", backend.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    service = start_service(endpoint=UNREACHABLE)
    for _ in range(2):  # the second call uses the proxy remembered for the URL
        answer = service.post(JOB)
        assert answer.status_code == 200, answer.text
    paths = [r["path"] for r in backend.received()]
    assert paths == [f"/models/{SST2}"] * 2


def test_no_proxy_host_is_called_directly(
    start_service, backend: OfflineBackendProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", backend.url)
    monkeypatch.setenv("NO_PROXY", "backend.invalid,127.0.0.1,localhost")
    service = start_service(endpoint=UNREACHABLE)
    answer = service.post(JOB)
    assert answer.status_code == 503, answer.text
    assert "cannot reach the backend" in answer.json()["description"]
    assert backend.received() == []
