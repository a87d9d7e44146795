"""Field checks of the stages and TrainConfig: :mod:`kanpde.checks` with the field named ``Owner.field``."""

from __future__ import annotations

import math

from .. import checks


def check_int(owner: str, name: str, value, minimum: int, allow_none: bool = False):
    """``value`` as an int ``>= minimum`` (or None where allowed)."""
    return checks.check_int(f"{owner}.{name}", value, minimum, allow_none)


def check_float(owner: str, name: str, value, minimum: float = -math.inf, strict: bool = False,
                allow_none: bool = False):
    """``value`` as a finite float ``>= minimum`` (``> minimum`` with ``strict``)."""
    return checks.check_float(f"{owner}.{name}", value, minimum, strict, allow_none)


def check_bool(owner: str, name: str, value) -> bool:
    return checks.check_bool(f"{owner}.{name}", value)


def check_choice(owner: str, name: str, value, choices: tuple):
    return checks.check_choice(f"{owner}.{name}", value, choices)
