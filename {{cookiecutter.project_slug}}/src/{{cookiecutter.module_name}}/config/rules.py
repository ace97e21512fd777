"""The two checks every config section runs on its own fields: a value within its range, a value among its choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..run.errors import ConfigError


def in_range(key: str, value: Any, fits: bool, expected: str) -> None:
    """Numbers that would crash a fold later, or silently train nothing, refused with the range that works."""
    if not fits:
        raise ConfigError(f"config key {key!r}: {value!r} is out of range; use {expected}")


def one_of(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed if a is not None)
        raise ConfigError(f"config key {key!r}: {value!r} is not one of {shown}")


AUTO = "auto"  # chosen from the data before training (auto.py), printed, and saved in config.yaml


def auto_or_number(key: str, value: Any, kind: type = float, nullable: bool = False) -> Any:
    """`value` as a number of `kind`, or "auto" (or null, where `nullable`) as it is. A number that a flag or YAML
    handed over as text (1e-3 is text to YAML) is read as one; anything else is refused naming the key."""
    if value is None and not nullable:
        raise ConfigError(f"config key {key!r}: null is not {'a whole number' if kind is int else 'a number'} or auto")
    if value is None or value == AUTO:
        return value
    try:
        number = kind(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or (kind is int and number != float(value)):
        raise ConfigError(
            f"config key {key!r}: {value!r} is not {'a whole number' if kind is int else 'a number'} or auto"
        )
    return number


def share(value: float) -> bool:
    return 0 <= value < 1


def batches(value: int | float | None) -> bool:
    """Lightning's limit_*_batches: null, a count, or a share of the batches."""
    return value is None or (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value <= 1)
