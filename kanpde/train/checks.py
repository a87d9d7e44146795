"""Field checks shared by the stages and TrainConfig: each names the field and the bad value."""

from __future__ import annotations

import math
import numbers


def check_int(owner: str, name: str, value, minimum: int, allow_none: bool = False):
    """``value`` as an int ``>= minimum`` (or None where allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "an int" + (" or None" if allow_none else "")
        raise TypeError(f"{owner}.{name} must be {kind}, got {type(value).__name__}: {value!r:.60}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_float(owner: str, name: str, value, minimum: float = -math.inf, strict: bool = False,
                allow_none: bool = False):
    """``value`` as a finite float ``>= minimum`` (``> minimum`` with ``strict``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}.{name} must be a number, got {type(value).__name__}: {value!r:.60}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = "" if minimum == -math.inf else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{owner}.{name} must be a finite number{bound}, got {value!r}")
    return value


def check_bool(owner: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be True or False, got {type(value).__name__}: {value!r:.60}")
    return value


def check_choice(owner: str, name: str, value, choices: tuple):
    if value not in choices or (value is not None and not isinstance(value, str)):
        raise ValueError(f"unknown {owner}.{name} {value!r}. Pick one of {choices}")
    return value
