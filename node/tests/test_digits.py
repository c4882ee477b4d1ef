"""Integers from paths and queries: ASCII digits of a bounded length, or a 400 naming the field."""

from __future__ import annotations

import pytest
from infernet_devnode.api.responses import parse_uint
from infernet_devnode.errors import InvalidField

UINT32_MAX = 2**32 - 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("\u00b2", id="superscript-two"),
        pytest.param("\u2460", id="circled-one"),
        pytest.param("\u0663", id="arabic-indic-three"),
        pytest.param("1" * 5_000, id="5000-digits"),
        pytest.param("4294967296", id="one-past-the-top"),
        pytest.param("00000000001", id="wider-than-the-top"),
        pytest.param("+1", id="plus"),
        pytest.param(" 1", id="space"),
        pytest.param("1_000", id="underscore"),
        pytest.param("", id="empty"),
        pytest.param("0", id="below-the-bottom"),
    ],
)
def test_anything_but_bounded_ascii_digits_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidField) as refused:
        parse_uint(raw, "id", 1, UINT32_MAX)
    assert refused.value.field == "id"
    assert str(UINT32_MAX) in refused.value.reason


@pytest.mark.parametrize(("raw", "value"), [("1", 1), ("0042", 42), (str(UINT32_MAX), UINT32_MAX)])
def test_ascii_digits_in_range_are_read(raw: str, value: int) -> None:
    assert parse_uint(raw, "id", 1, UINT32_MAX) == value
