"""The retry policy's decisions (pure)."""

from __future__ import annotations

import email.utils

from hf_inference_client_service import RetryPolicy
from hf_inference_client_service.retry import parse_retry_after


def test_retries_only_retryable_statuses_and_connection_errors() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(1, 429)
    assert policy.should_retry(1, 503)
    assert policy.should_retry(2, None)  # connection error
    assert not policy.should_retry(1, 500)
    assert not policy.should_retry(1, 400)
    assert not policy.should_retry(3, 429)  # bounded


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_retry_after_seconds_wins_but_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=10.0)
    assert policy.delay(1, "2") == 2.0
    assert policy.delay(1, "0") == 0.0
    assert policy.delay(1, "120") == 10.0
    assert policy.delay(1, "soon") == 0.5  # unparseable: normal backoff


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after(header, now=now) == 7.0
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after(None) is None
