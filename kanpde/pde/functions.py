"""The one convention for user functions of points.

Every user callable that depends on position (condition values, ``exact``,
``reference``, ``on=`` predicates, transforms' data, :mod:`kanpde.fd` data) is
called as

    f(x) -> values,   x: (N, D) torch tensor (the problem's dtype and device),
                      values: (N,) or (N, m), torch (a numpy result is refused: wrap
                      numpy-only functions with :func:`numpy_function`).

:func:`call_points` is the single place that calls them: it refuses a numpy
result, checks the shape and finiteness, and names the function's role in every
error. Functions that only work on numpy arrays (scipy interpolators, say) are
wrapped once with :func:`numpy_function`.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import torch


def numpy_function(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``fn`` on numpy ``(N, D)`` arrays as a function on torch points (the kanpde convention).

    The result keeps the input's dtype and device; it is not differentiable, and says so
    (``differentiable = False``): a condition it gives is kept a loss term, never built in, since a
    built-in value's derivatives enter the residual (see :func:`is_differentiable`).

    Raises:
        TypeError: ``fn`` is not callable.
    """
    if not callable(fn):
        raise TypeError(f"numpy_function needs a callable, got {type(fn).__name__}")

    @functools.wraps(fn)
    def wrapped(x: torch.Tensor) -> torch.Tensor:
        values = np.asarray(fn(x.detach().cpu().numpy()), dtype=float)
        return torch.as_tensor(values).to(dtype=x.dtype, device=x.device)

    wrapped.differentiable = False
    return wrapped


def is_differentiable(value) -> bool:
    """False for a value marked not differentiable (a :func:`numpy_function`); numbers and torch functions
    are taken as differentiable."""
    return getattr(value, "differentiable", True) is not False


def check_differentiable(fn, role: str, why: str) -> None:
    """Refuse a :func:`numpy_function` where its derivatives are taken (autograd would read them as zero).

    Raises:
        ValueError: ``fn`` is marked not differentiable; the message names ``role`` and ``why``.
    """
    if not is_differentiable(fn):
        raise ValueError(f"{role} is a kp.numpy_function, which has no derivatives, but {why}: write it with "
                         f"torch functions")


def _as_tensor(values, x: torch.Tensor, role: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    if isinstance(values, (np.ndarray, np.generic, list, tuple)):  # the convention is torch: say so, do not convert
        raise TypeError(f"{role} must return a torch tensor (torch points in, torch out), got "
                        f"{type(values).__module__.split('.')[0]}.{type(values).__name__}; build it with torch "
                        f"functions, or wrap a numpy function once with kp.numpy_function(fn)")
    raise TypeError(f"{role} must return a torch tensor (or numpy array) of shape ({x.shape[0]},) or "
                    f"({x.shape[0]}, m), got {type(values).__name__}: {values!r:.80}")


def call_points(fn: Callable, x: torch.Tensor, role: str, columns: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """``fn(x)`` as a finite ``(N, m)`` tensor of x's dtype and device.

    Args:
        fn: the user function.
        x: ``(N, D)`` points.
        role: what the function is, for messages (``"Dirichlet value"``, ``"exact"``, ...).
        columns: the allowed column counts m (an int or a tuple); None allows any.

    Raises:
        TypeError: a result that is not an array of numbers.
        ValueError: a result of the wrong shape or with NaN/inf.
    """
    n = x.shape[0]
    values = _as_tensor(fn(x), x, role)
    if values.dtype == torch.bool or values.is_complex():
        raise TypeError(f"{role} must return real numbers, got a {values.dtype} tensor")
    if values.ndim == 1:
        values = values.unsqueeze(1)                                     # (N, 1)
    allowed = (columns,) if isinstance(columns, int) else columns
    if values.ndim != 2 or values.shape[0] != n or (allowed is not None and values.shape[1] not in allowed):
        wanted = "m" if allowed is None else " or ".join(str(c) for c in allowed)
        raise ValueError(f"{role} must return shape ({n},) or ({n}, {wanted}) for {n} points, "
                         f"got {tuple(values.shape)}")
    values = values.to(dtype=x.dtype, device=x.device)
    bad = ~torch.isfinite(values).all(1)                                 # (N,)
    if bool(bad.any()):
        first = x[bad][0].tolist()
        raise ValueError(f"{role} must give finite values, got NaN/inf at {int(bad.sum())} of {n} points, "
                         f"first at {first}")
    return values


def call_predicate(fn: Callable, x: torch.Tensor, role: str = "on= predicate") -> torch.Tensor:
    """``fn(x)`` as a ``(N,)`` bool tensor on x's device.

    Raises:
        TypeError: a result that is not boolean.
        ValueError: a result that is not one value per point.
    """
    n = x.shape[0]
    mask = _as_tensor(fn(x), x, role)
    if mask.dtype != torch.bool:
        raise TypeError(f"{role} must return booleans (e.g. x[:, 0] < 0), got a {mask.dtype} tensor")
    if mask.ndim == 2 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if mask.shape != (n,):
        raise ValueError(f"{role} must return one bool per point, shape ({n},), got {tuple(mask.shape)}")
    return mask.to(x.device)
