"""Argument validation, one home for the whole package: each check names the argument, says what was expected
and what came, and returns the value in its normal form.

    check_int("grid", 0, 1)          -> ValueError: grid must be an int >= 1, got 0
    check_choice("method", "x", M)   -> ValueError: unknown method 'x'. Pick one of (...)

``name`` is the argument as the user knows it (``"grid"``, ``"TrainConfig.seed"``). A utility module: it imports
nothing from kanpde, so every layer may use it.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
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


# -- the public boundary: values that reach torch or the allocator from a user ------------------------------------

#: Largest coordinate magnitude a domain may have: squares and differences of coordinates (distances, sampling
#: ``lo + u (hi - lo)``, the spline grid) must stay finite in float64.
COORDINATE_LIMIT = 1e150


def check_extent(name: str, lo: np.ndarray, hi: np.ndarray) -> None:
    """Refuse corners beyond ``+-COORDINATE_LIMIT`` (they overflow to inf in sampling and distances).

    Raises:
        ValueError: naming ``name``, the limit and the corners.
    """
    if np.any(np.abs(lo) > COORDINATE_LIMIT) or np.any(np.abs(hi) > COORDINATE_LIMIT):
        raise ValueError(f"{name} must lie within +-{COORDINATE_LIMIT:g} (differences and squares of coordinates "
                         f"must stay finite in float64), got lo={lo.tolist()} and hi={hi.tolist()}; rescale the "
                         "problem to moderate units")


def check_seed(name: str, seed):
    """``seed`` if it is None, a numpy Generator/SeedSequence or an int ``>= 0``."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return seed
    return check_int(name, seed, 0)


def check_signature(name: str, fn, nargs: int, usage: str) -> None:
    """Refuse a callable that cannot be called with ``nargs`` positional arguments (``usage`` shows the call).

    Callables whose signature Python cannot read (builtins, some C extensions) pass unchecked.

    Raises:
        TypeError: naming ``name``, the expected call and the function's own signature.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*range(nargs))
    except TypeError as err:
        label = getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(f"{name} must be callable as {usage} ({nargs} arguments), got {label}{signature}: "
                        f"{err}") from None


def check_points_input(name: str, value) -> None:
    """Refuse point arrays torch cannot evaluate on: complex numbers, data-less ('meta') tensors.

    Raises:
        TypeError: complex (or non-numeric) input. ValueError: a tensor on the 'meta' device.
    """
    kind = None
    if hasattr(value, "is_complex") and hasattr(value, "device"):  # a torch tensor (no torch import here)
        if value.device.type == "meta":
            raise ValueError(f"{name} must hold data, got a tensor on the 'meta' device; pick a device with data, "
                             "e.g. points.to('cpu')")
        kind = "complex" if value.is_complex() else None
    elif isinstance(value, np.ndarray) and value.dtype.kind == "c":
        kind = "complex"
    if kind is not None:
        raise TypeError(f"{name} must be real numbers, got a complex array of dtype {value.dtype}; pass its .real "
                        "(or .imag) part explicitly")


def check_file_path(name: str, path) -> str:
    """``path`` as a str that names a file (not empty, not a folder).

    Raises:
        TypeError: not a str or os.PathLike. ValueError: empty, ending in a separator, or an existing folder.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or pathlib.Path), got {type(path).__name__}: {path!r:.60}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str path, got {type(text).__name__}: {text!r:.60}")
    if not text.strip() or text.endswith(("/", os.sep)) or os.path.isdir(text):
        raise ValueError(f"{name} must name a file, e.g. 'solution.pt', got {text!r}"
                         + (" (an existing folder)" if text.strip() and os.path.isdir(text) else ""))
    return text


def check_widths(name: str, widths, example: str = "[2, 10, 1]") -> list[int]:
    """``widths`` as a list of at least two ints ``>= 1`` (layer sizes, input first).

    Raises:
        TypeError: None, a string or not a sequence; an entry that is not an int (named ``widths[i]``).
        ValueError: fewer than two layers, or an entry below 1.
    """
    if widths is None or isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"{name} must be a list of layer sizes like {example}, got {type(widths).__name__}: "
                        f"{widths!r:.60}")
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"expected {name} as a list of at least 2 layer sizes like {example}, got {widths!r}")
    return [check_int(f"{name}[{i}]", w, 1) for i, w in enumerate(widths)]


def largest_width(name: str, widths: list[int]) -> str:
    """``"widths[i]=w"`` for the largest entry: what a memory message names as the cause."""
    i = max(range(len(widths)), key=widths.__getitem__)
    return f"{name}[{i}]={widths[i]}"
