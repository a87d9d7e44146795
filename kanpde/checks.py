"""Argument validation, one home for the whole package: each check names the argument, says what was expected
and what came, and returns the value in its normal form.

    check_int("grid", 0, 1)          -> ValueError: grid must be an int >= 1, got 0
    check_choice("method", "x", M)   -> ValueError: unknown method 'x'. Pick one of (...)

``name`` is the argument as the user knows it (``"grid"``, ``"TrainConfig.seed"``). A utility module: it imports
nothing from kanpde, so every layer may use it.
"""

from __future__ import annotations

import math
import numbers
import numpy as np


def is_int(value) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value, minimum: int, allow_none: bool = False) -> int | None:
    """``value`` as an int ``>= minimum`` (or None where allowed).

    Raises:
        TypeError: not an int (bools are refused). ValueError: below ``minimum``.
    """
    if value is None and allow_none:
        return None
    if not is_int(value):
        kind = "an int" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}: {value!r:.60}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value, minimum: float = -math.inf, strict: bool = False,
                allow_none: bool = False) -> float | None:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` with ``strict``), or None where allowed.

    Raises:
        TypeError: not a real number (bools are refused). ValueError: not finite, or below the bound.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r:.60}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = "" if minimum == -math.inf else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """``value`` if it is True or False, else TypeError."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r:.60}")
    return value


def check_choice(name: str, value, choices: tuple):
    """``value`` if it is one of ``choices`` (strings match only strings), else ValueError "Pick one of ..."."""
    if value not in choices or (value is not None and not isinstance(value, str)):
        raise ValueError(f"unknown {name} {value!r}. Pick one of {choices}")
    return value


def finite_vector(value, name: str) -> np.ndarray:
    """``value`` as a read-only, finite, non-empty 1-D float64 array.

    Raises:
        ValueError: not numbers, not flat, empty, or not finite.
    """
    try:
        arr = np.array(value, dtype=np.float64, ndmin=1)  # a copy: made read-only below
    except (TypeError, ValueError):
        raise ValueError(f"expected numbers for {name}, got {value!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"expected a flat sequence of numbers for {name}, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"expected finite numbers for {name}, got {value!r}")
    arr.setflags(write=False)
    return arr


def finite_points(value, name: str, dim: int) -> np.ndarray:
    """``value`` (numpy or torch) as a finite float64 ``(N, dim)`` array; a flat array is one column when
    ``dim == 1``.

    Raises:
        ValueError: not numbers, the wrong shape, or NaN/inf.
    """
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers of shape (N, {dim}), got {type(value).__name__}") from None
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return arr
