"""The two checks every config section runs on its own fields: a value within its range, a value among its choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError


def in_range(key: str, value: Any, fits: bool, expected: str) -> None:
    """Numbers that would crash a fold later, or silently train nothing, refused with the range that works."""
    if not fits:
        raise ConfigError(f"config key {key!r}: {value!r} is out of range; use {expected}")


def one_of(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed if a is not None)
        raise ConfigError(f"config key {key!r}: {value!r} is not one of {shown}")


def share(value: float) -> bool:
    return 0 <= value < 1


def batches(value: int | float | None) -> bool:
    """Lightning's limit_*_batches: null, a count, or a share of the batches."""
    return value is None or (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value <= 1)
