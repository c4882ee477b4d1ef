"""Fixtures for the service tests: a clean environment, the offline stand-in, services."""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from hf_inference_client_service import RetryPolicy
from hf_inference_client_service import ServiceConfig
from misbehaving_backend import MisbehavingBackend
from service_harness import OfflineBackendProcess
from service_harness import ServiceThread

# Variables that change the service's or huggingface_hub's behaviour (tokens, endpoints,
# proxies, offline mode) and must not leak in from the shell.
_STEERING_PREFIXES = ("HF_", "HUGGING_FACE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(_STEERING_PREFIXES):
            monkeypatch.delenv(name)
    # No implicit token from a developer's login may reach any server in a test.
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home-for-tests")


@pytest.fixture(scope="session")
def _backend_process() -> Iterator[OfflineBackendProcess]:
    with OfflineBackendProcess() as backend:
        yield backend


@pytest.fixture
def backend(_backend_process: OfflineBackendProcess) -> OfflineBackendProcess:
    """The offline HF stand-in, with no faults and no recorded requests."""
    _backend_process.reset()
    return _backend_process


# Fast retries so that retry tests take milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)

ServiceFactory = Callable[..., ServiceThread]


@pytest.fixture
def start_service(backend: OfflineBackendProcess) -> Iterator[ServiceFactory]:
    """`start_service(**config_fields)` runs a service against the stand-in; all stopped after."""
    started: list[ServiceThread] = []

    def start(**fields: Any) -> ServiceThread:
        fields.setdefault("endpoint", backend.url)
        fields.setdefault("retry", FAST_RETRY)
        fields.setdefault("timeout", 10.0)
        service = ServiceThread(ServiceConfig(**fields)).__enter__()
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in reversed(started):
            service.__exit__(None, None, None)


@pytest.fixture(scope="session")
def _default_service(_backend_process: OfflineBackendProcess) -> Iterator[ServiceThread]:
    config = ServiceConfig(endpoint=_backend_process.url, retry=FAST_RETRY, timeout=10.0)
    with ServiceThread(config) as service:
        yield service


@pytest.fixture
def service(backend: OfflineBackendProcess, _default_service: ServiceThread) -> ServiceThread:
    """A service with default settings, pointed at the (reset) stand-in; shared by tests."""
    return _default_service


@pytest.fixture(scope="module")
def scripted() -> Iterator[MisbehavingBackend]:
    """A backend answering each request as its input text's case says (misbehaving_backend.py),
    one per test module."""
    with MisbehavingBackend() as backend:
        yield backend
