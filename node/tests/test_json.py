"""The node's JSON bounds as pure functions: depth before parsing, finite numbers only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from infernet_devnode._json import JsonRejected
from infernet_devnode._json import dumps
from infernet_devnode._json import loads
from infernet_devnode._json import too_deep

MAX_DEPTH = 5

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(values)
def test_depth_is_measured_outside_strings_like_the_parser_sees_it(value: Any) -> None:
    text = json.dumps(value)
    for form in (text, text.encode()):
        assert too_deep(form, MAX_DEPTH) == (_depth(value) > MAX_DEPTH)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "nested more than 5", id="deep"),
        pytest.param('{"a": NaN}', "NaN", id="nan"),
        pytest.param("[-Infinity]", "-Infinity", id="minus-infinity"),
        pytest.param("[1e999]", "too large", id="overflow"),
        pytest.param("{not json", "not valid JSON", id="not-json"),
    ],
)
def test_rejected_texts_say_why(text: str, reason: str) -> None:
    with pytest.raises(JsonRejected) as error:
        loads(text, MAX_DEPTH)
    assert reason in error.value.reason


def test_strict_dumps_refuses_non_finite_numbers() -> None:
    assert dumps({"x": [1.5]}) == b'{"x": [1.5]}'
    with pytest.raises(ValueError, match="JSON"):
        dumps(float("nan"))
