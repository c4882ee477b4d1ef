"""GCRA rate limiting with an explicit clock."""

from __future__ import annotations

from infernet_devnode.ratelimit import RateLimiter


def test_burst_up_to_limit_then_refused_with_retry_after() -> None:
    limiter = RateLimiter(num_requests=3, period=60)
    remaining = [limiter.check("a", 100.0).remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    refused = limiter.check("a", 100.0)
    assert not refused.allowed
    assert refused.retry_after == 20.0
    assert refused.headers()["Retry-After"] == "20"


def test_one_request_comes_back_per_emission_interval() -> None:
    limiter = RateLimiter(num_requests=3, period=60)
    for _ in range(3):
        limiter.check("a", 0.0)
    assert not limiter.check("a", 19.9).allowed
    assert limiter.check("a", 20.0).allowed
    assert not limiter.check("a", 20.0).allowed


def test_keys_are_independent() -> None:
    limiter = RateLimiter(num_requests=1, period=10)
    assert limiter.check(("1.1.1.1", "/health"), 0.0).allowed
    assert not limiter.check(("1.1.1.1", "/health"), 0.0).allowed
    assert limiter.check(("1.1.1.1", "/info"), 0.0).allowed
    assert limiter.check(("2.2.2.2", "/health"), 0.0).allowed


def test_headers_of_an_allowed_request() -> None:
    decision = RateLimiter(num_requests=60, period=60).check("a", 0.0)
    assert decision.headers() == {
        "RateLimit-Limit": "60",
        "RateLimit-Remaining": "59",
        "RateLimit-Reset": "1",
    }
