"""User-facing training options: the dataclasses a :class:`~kanpde.train.config.TrainConfig` or a stage
takes, apart from the machinery that acts on them (so config, stages and machinery import this module,
never each other in a cycle).

- :class:`Galerkin`: an LM stage's Galerkin rows (:mod:`kanpde.train.galerkin`);
- :class:`Causal`: causal weights of a time-dependent problem's residual (:mod:`kanpde.train.causal`);
- :class:`TimeMarching`: training in time windows (:mod:`kanpde.train.marching`).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Sequence

from .checks import check_bool, check_float, check_int


@dataclass
class Galerkin:
    """Galerkin rows of an LM stage: the PDE residual's projections on ``m**d`` Legendre products (see ``modes``).

    Attributes:
        modes: Legendre polynomials per coordinate (degrees 0 .. modes - 1), at most; ``m**d`` test
            functions in d dimensions, m the largest count <= modes with ``m**d <= max_tests``
            (2-D: 8, 3-D: 4, 5-D: 2 with the defaults).
        max_tests: the cap on the number of test functions.
        points: quadrature points (a scrambled Sobol set in the domain; a power of 2 keeps its balance).
        weight: alpha, the rows' weight against the collocation loss. At 1 they count a projection as
            much as the loss already does; larger makes them near-constraints.
        chunk: quadrature points per block (the forward graph held at once).
        repeat_above, max_repeats: the stage runs more iterations than its ``steps`` (up to
            ``max_repeats`` in all) while ``|g|^2`` stays above ``repeat_above`` times the collocation loss:
            the projections are still far off what the points see (one iteration on a higher-frequency
            Helmholtz saw ``|g|^2`` of 1e4 and reached rel L2 4.5e-3, five 1.2e-3; issue #26). The default
            1 makes no repeats: on helmholtz2d (seed 0) the default schedule's one iteration gives 5.9e-5
            and a second was not measured to help; ``max_repeats=5`` turns them on.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range.
    """

    _: KW_ONLY
    modes: int = 8
    max_tests: int = 64
    points: int = 2**17
    weight: float = 20.0
    chunk: int = 4096
    repeat_above: float = 10.0
    max_repeats: int = 1

    def __post_init__(self):
        self.modes = check_int("Galerkin", "modes", self.modes, 1)
        self.max_tests = check_int("Galerkin", "max_tests", self.max_tests, 1)
        self.points = check_int("Galerkin", "points", self.points, 1)
        self.weight = check_float("Galerkin", "weight", self.weight, 0.0, strict=True)
        self.chunk = check_int("Galerkin", "chunk", self.chunk, 1)
        self.repeat_above = check_float("Galerkin", "repeat_above", self.repeat_above, 0.0)
        self.max_repeats = check_int("Galerkin", "max_repeats", self.max_repeats, 1)

    def per_axis(self, dim: int) -> int:
        """Test polynomials per coordinate in ``dim`` dimensions: the most, up to ``modes``, whose
        ``dim``-fold products stay within ``max_tests`` (at least 1)."""
        return max((m for m in range(1, self.modes + 1) if m**dim <= self.max_tests), default=1)


@dataclass
class Causal:
    """Causal weights for the interior residual of a time-dependent problem.

    Attributes:
        chunks: M, the number of time chunks.
        eps: causality parameters, used in order; the last one stays.
        threshold: move to the next ``eps`` once every weight is at least this.

    Raises:
        ValueError: ``chunks`` < 1, an empty or non-positive ``eps``, or a threshold outside (0, 1].
    """

    chunks: int = 32
    eps: Sequence[float] = field(default_factory=lambda: [1e-2, 1e-1, 1.0, 10.0, 100.0])
    threshold: float = 0.99

    def __post_init__(self):
        if isinstance(self.chunks, bool) or not isinstance(self.chunks, int) or self.chunks < 1:
            raise ValueError(f"Causal.chunks must be an int >= 1, got {self.chunks!r}")
        self.eps = [float(e) for e in (self.eps if isinstance(self.eps, (list, tuple)) else [self.eps])]
        if not self.eps or any(not e > 0 for e in self.eps):
            raise ValueError(f"Causal.eps must be a non-empty list of positive numbers, got {self.eps!r}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"Causal.threshold must lie in (0, 1], got {self.threshold!r}")


@dataclass
class TimeMarching:
    """Train ``windows`` time windows one after another (``TrainConfig(marching=...)``).

    Attributes:
        windows: K, the number of equal time windows.
        overlap: each window (but the last) is trained this fraction of its length past its end,
            so the next one starts from a point inside where it was trained.
        warm_start: start window k's network from window k-1's trained one (else from
            a copy of the untrained model).
        keep_best: each window keeps the model with the lowest residual on held-out points
            seen during its training, not the last one (:mod:`kanpde.train.best`).
        tolerance: adaptive windows, like an ODE solver's step-size control: a window whose held-out
            residual (the validation loss of :mod:`kanpde.train.best`, a mean square) stays above
            ``tolerance`` is trained again on half its length, down to ``1 / 2**max_halvings`` of the
            first length; after one under ``tolerance / 32`` the next is twice as long, up to the first
            length. ``windows`` then sets the first length only. None: K equal windows.
        max_halvings: how often a window may be halved (with ``tolerance``).

    Raises:
        ValueError: ``windows`` < 1, ``overlap`` outside [0, 1], a ``tolerance`` that is not positive or a
            negative ``max_halvings``.
    """

    windows: int = 4
    overlap: float = 0.0
    warm_start: bool = True
    keep_best: bool = False
    tolerance: float | None = None
    max_halvings: int = 4

    def __post_init__(self):
        self.windows = check_int("TimeMarching", "windows", self.windows, 1)
        self.overlap = check_float("TimeMarching", "overlap", self.overlap, 0.0)
        if self.overlap > 1:
            raise ValueError(f"TimeMarching.overlap must lie in [0, 1], got {self.overlap!r}")
        self.tolerance = check_float("TimeMarching", "tolerance", self.tolerance, 0.0, strict=True, allow_none=True)
        self.max_halvings = check_int("TimeMarching", "max_halvings", self.max_halvings, 0)
        check_bool("TimeMarching", "warm_start", self.warm_start)
        check_bool("TimeMarching", "keep_best", self.keep_best)
