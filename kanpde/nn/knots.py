"""Moving knots (r-adaptivity): a monotone coordinate map in front of a KAN.

A KAN's splines live on uniform grids. Putting a per-input map ``s_a(x_a)`` in front,

    u(x) = N(s_1(x_1), .., s_D(x_D)),

makes the knots of the first layer sit at ``x = s^{-1}(lo + j h)``: uniform in s, wherever the map
puts them in x. The map equidistributes a density ``rho_a > 0`` (de Boor; moving meshes):

    s_a(x) = lo_a + (hi_a - lo_a) F_a(x) / F_a(hi_a),   F_a(x) = int_{lo_a}^x rho_a,

so every knot interval holds the same mass of rho. rho is a quadratic B-spline with positive
coefficients on ``cells`` uniform cells of ``[lo_a, hi_a]`` (positive by the convex-hull property), so
F is a cubic spline on the same cells: s is C^2, strictly increasing, with closed-form s' and s''
(outside ``[lo, hi]`` it continues linearly, like every kanpde spline). A uniform rho is the identity.

The jet keeps the network's own (fused) kernels: the inner KAN's jet in s and, since each s_a
depends on x_a alone, the chain rule

    u_a  = N_a s_a',     u_ab = N_ab s_a' s_b' + [a = b] N_a s_a''.

:meth:`MappedKAN.move_knots` sets rho from a monitor of the current solution (e.g. ``|u_a|^(1/4)``
or a residual) and refits the first layer's splines so the function is kept: to round-off where the
new spaces contain the old function (the same map, an affine change of s, a nested grid), by least
squares otherwise.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .jet import Jet, _silu_derivatives
from .kan import KAN
from .splines import fit_coefficients, spline_values

DEFAULT_CELLS = 2048


class KnotMap(nn.Module):
    """The per-input monotone map ``s(x)`` ``(N, D) -> (N, D)`` of an equidistributed density.

    Args:
        lo, hi: ``(D,)`` the range each input maps onto itself.
        cells: the number of uniform cells carrying the density (its resolution).
    """

    def __init__(self, lo: torch.Tensor, hi: torch.Tensor, cells: int = DEFAULT_CELLS):
        super().__init__()
        if isinstance(cells, bool) or not isinstance(cells, int) or cells < 2:
            raise ValueError(f"cells must be an int >= 2, got {cells!r}")
        lo, hi = (torch.as_tensor(v) for v in (lo, hi))
        lo, hi = (v if v.is_floating_point() else v.to(torch.get_default_dtype()) for v in (lo, hi))
        if lo.ndim != 1 or lo.shape != hi.shape or not bool((hi > lo).all()):
            raise ValueError(f"expected lo, hi of shape (D,) with hi > lo, got {lo.tolist()} and {hi.tolist()}")
        self.cells = cells
        self.register_buffer("lo", lo.clone())
        self.register_buffer("hi", hi.clone())
        self.register_buffer("density", torch.ones(len(lo), cells + 2, dtype=lo.dtype))  # (D, cells+2) rho coefs
        self.register_buffer("coef", torch.zeros(len(lo), 1, cells + 3, dtype=lo.dtype))   # (D, 1, cells+3) s coefs
        self.set_density(self.density)

    @property
    def dim(self) -> int:
        return self.lo.shape[0]

    @torch.no_grad()
    def set_density(self, density: torch.Tensor) -> None:
        """Use the quadratic B-spline coefficients ``density`` ``(D, cells + 2)`` (all > 0) as rho.

        The cubic coefficients of F follow from ``F' = rho``: ``d_j = h sum_{g < j} rho_g``; then F(lo)
        is subtracted and the map scaled so that ``s(lo) = lo`` and ``s(hi) = hi``.

        Raises:
            ValueError: a density of the wrong shape, or not positive and finite.
        """
        density = torch.as_tensor(density, dtype=self.lo.dtype, device=self.lo.device)
        if density.shape != self.density.shape or not bool(torch.isfinite(density).all()) or not bool((density > 0).all()):
            raise ValueError(f"density must be {tuple(self.density.shape)} positive finite coefficients, "
                             f"got shape {tuple(density.shape)}")
        h = ((self.hi - self.lo) / self.cells).unsqueeze(1)                         # (D, 1)
        d = torch.cat([density.new_zeros(self.dim, 1), h * density.cumsum(1)], 1)    # (D, cells+3)
        at_lo = (d[:, 0] + 4 * d[:, 1] + d[:, 2]) / 6                                 # (D,) F at lo
        at_hi = (d[:, -3] + 4 * d[:, -2] + d[:, -1]) / 6
        scale = ((self.hi - self.lo) / (at_hi - at_lo)).unsqueeze(1)
        self.density.copy_(density)
        self.coef.copy_(((d - at_lo.unsqueeze(1)) * scale + self.lo.unsqueeze(1)).unsqueeze(1))

    def derivatives(self, x: torch.Tensor, order: int = 2) -> list[torch.Tensor]:
        """``[s, s', s'']`` (up to ``order``) at ``x`` ``(N, D)``, each ``(N, D)``; differentiable in x."""
        values = spline_values(x, self.coef, self.lo, self.hi, self.cells, 3, order)  # (N, D, order+1, 1)
        return list(values[..., 0].unbind(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.derivatives(x, 0)[0]

    @torch.no_grad()
    def inverse(self, s: torch.Tensor, iterations: int = 64) -> torch.Tensor:
        """``x = s^{-1}(s)`` ``(N, D)``: bisection inside ``[lo, hi]``, the linear continuation outside."""
        lo, hi = self.lo.expand_as(s), self.hi.expand_as(s)
        a, b = lo.clone(), hi.clone()
        for _ in range(iterations):
            mid = (a + b) / 2
            below = self(mid) < s
            a, b = torch.where(below, mid, a), torch.where(below, b, mid)
        x = (a + b) / 2
        slope_lo, slope_hi = (self.derivatives(e.expand_as(s), 1)[1] for e in (lo, hi))
        x = torch.where(s < lo, lo + (s - lo) / slope_lo, x)
        return torch.where(s > hi, hi + (s - hi) / slope_hi, x)

    def knots(self, grid: int, lo: torch.Tensor | None = None, hi: torch.Tensor | None = None) -> torch.Tensor:
        """Where a uniform grid of ``grid`` intervals in s (on ``[lo, hi]``, default the map's range) sits
        in x: ``(D, grid + 1)``."""
        lo = self.lo if lo is None else lo.to(self.lo)
        hi = self.hi if hi is None else hi.to(self.hi)
        t = torch.linspace(0, 1, grid + 1, dtype=self.lo.dtype, device=self.lo.device).unsqueeze(1)
        return self.inverse(lo + t * (hi - lo)).T                                    # (D, grid+1)


def equidistributing_density(positions: torch.Tensor, monitor: torch.Tensor, lo: float, hi: float, cells: int,
                             floor: float = 0.1, smoothing: int = 4) -> torch.Tensor:
    """Quadratic B-spline coefficients ``(cells + 2,)`` of a density that follows ``monitor`` along one input.

    ``rho = m + floor * mean(m)``, with m the mean monitor value of the samples in each cell (empty
    cells interpolated), smoothed by ``smoothing`` passes of the ``[1, 2, 1] / 4`` filter so neighbouring
    knot intervals differ gently. The floor keeps a share ``floor / (1 + floor)`` of the knots uniform.

    Args:
        positions: ``(N,)`` sample coordinates along the input.
        monitor: ``(N,)`` non-negative monitor values there (arc length, ``|u'|^p``, a residual, ...).

    Raises:
        ValueError: mismatched or empty samples, a negative or non-finite monitor, a negative floor.
    """
    positions = torch.as_tensor(positions).detach().reshape(-1).double().cpu().numpy()
    monitor = torch.as_tensor(monitor).detach().reshape(-1).double().cpu().numpy()
    if positions.shape != monitor.shape or positions.size == 0:
        raise ValueError(f"positions and monitor must be non-empty and of one length, got {positions.size} "
                         f"and {monitor.size}")
    if not np.all(np.isfinite(monitor)) or np.any(monitor < 0):
        raise ValueError("monitor must be finite and >= 0")
    if not floor >= 0:
        raise ValueError(f"floor must be >= 0, got {floor!r}")
    h = (hi - lo) / cells
    cell = np.clip(((positions - lo) / h).astype(np.int64), 0, cells - 1)
    count = np.bincount(cell, minlength=cells)
    total = np.bincount(cell, weights=monitor, minlength=cells)
    centres = lo + (np.arange(cells) + 0.5) * h
    seen = count > 0
    mean = np.interp(centres, centres[seen], total[seen] / count[seen])              # (cells,)
    for _ in range(smoothing):
        padded = np.concatenate([mean[:1], mean, mean[-1:]])
        mean = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4
    average = mean.mean()
    rho = mean + floor * average if average > 0 else np.ones_like(mean)
    return torch.from_numpy(np.concatenate([rho[:1], rho, rho[-1:]]))                 # basis g is centred on cell g-1


class MappedKAN(KAN):
    """A KAN behind a :class:`KnotMap`: ``u(x) = KAN(s(x))``, knots that move (see the module docstring).

    Args:
        widths, grid, k, grid_range, noise_scale, base_scale, seed: as :class:`kanpde.KAN`; ``grid_range`` also
            sets the range the map keeps fixed (one pair, or one per input).
        cells: the resolution of the map's density (:class:`KnotMap`).
        adapt: inputs whose knots move by themselves at every grid extension (:meth:`refine`), to
            equidistribute the network's own ``|dN/dx_a|^power`` (plus ``floor`` times its mean) on the
            points last given to :meth:`update_grid` (the trainer's collocation points). Empty: only
            explicit :meth:`move_knots` calls move them. The monitor reads the solution given to :meth:`follow`
            (the trainer gives u before a grid extension) where given, else the network N itself: under a hard
            constraint ``u = lift + factor N``, N steepens where the factor vanishes (the boundary) and
            would draw the knots there instead of to the front.

    Raises:
        ValueError: an ``adapt`` entry that is not an input index.
    """

    def __init__(self, widths: Sequence[int], grid: int = 5, k: int = 3, grid_range=(-1.0, 1.0),
                 noise_scale: float = 0.1, base_scale: float = 1.0, seed: int | None = None,
                 cells: int = DEFAULT_CELLS, adapt: Sequence[int] = (), power: float = 1.0, floor: float = 0.5):
        super().__init__(widths, grid, k, grid_range, noise_scale, base_scale, seed)
        first = self.layers[0]
        self.knot_map = KnotMap(first.lo.clone(), first.hi.clone(), cells)
        self.adapt, self.power, self.floor = tuple(adapt), power, floor
        if not all(isinstance(a, int) and 0 <= a < first.in_dim for a in self.adapt):
            raise ValueError(f"adapt must list input indices in 0..{first.in_dim - 1}, got {adapt!r}")
        self._samples: torch.Tensor | None = None  # the last points update_grid saw (for adapt)
        self._solution: tuple = ()  # (u,) for adapt's next monitor (follow); a tuple keeps u's module out of this one
        self._initialised(MappedKAN, seed, dict(widths=widths, grid=grid, k=k, grid_range=grid_range,
                                                noise_scale=noise_scale, base_scale=base_scale, cells=cells,
                                                adapt=self.adapt, power=power, floor=floor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return super().forward(self.knot_map(x))

    def jet(self, x: torch.Tensor, pairs: Sequence[Sequence[int]] | None = None, order: int = 2) -> Jet:
        """The jet in x: the KAN's jet in s and the chain rule through the diagonal map."""
        self.check_input(x)
        s, s1, s2 = self.knot_map.derivatives(x, 2)                        # (N, D) each
        inner = super().jet(s, pairs, order)
        grad = inner.grad * s1.unsqueeze(1)                                 # (N, out, D)
        if not inner.pairs:
            return Jet(inner.value, grad, inner.second, inner.pairs)
        a, b = (list(t) for t in zip(*inner.pairs))
        same = torch.tensor([i == j for i, j in inner.pairs], dtype=x.dtype, device=x.device)  # (P,)
        second = inner.second * (s1[:, a] * s1[:, b]).unsqueeze(1) \
            + inner.grad[..., a] * (s2[:, a] * same).unsqueeze(1)           # (N, out, P)
        return Jet(inner.value, grad, second, inner.pairs)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin: float = 0.0, layers: int | None = None,
                    grow_only: bool = False, reduce=None) -> "MappedKAN":
        """:meth:`kanpde.KAN.update_grid` on the mapped inputs ``s(x)`` (the points are kept for ``adapt``)."""
        self.check_input(x)
        self._samples = x.detach()[:20_000]
        return super().update_grid(self.knot_map(x), margin, layers, grow_only, reduce)

    @torch.no_grad()
    def refine(self, new_grid: int) -> "MappedKAN":
        """:meth:`kanpde.KAN.refine` (exact in s), then, for the ``adapt`` inputs, a knot move to the network's
        own monitor ``|dN/dx_a|^power`` on the points last seen by :meth:`update_grid`."""
        super().refine(new_grid)
        if self.adapt and self._samples is not None:
            x = self._samples.to(self.knot_map.lo)
            grad = self._monitor_gradient(x)                               # (N, D)
            monitor = torch.ones_like(x)
            monitor[:, list(self.adapt)] = grad[:, list(self.adapt)] ** self.power
            self.move_knots(x, monitor, floor=self.floor)
        self._solution = ()
        return self

    def follow(self, solution) -> None:
        """Read the next grid extension's monitor from ``solution`` (``u(x) -> (N, out)``, e.g. the network inside
        its hard constraint) instead of from the network itself; used once, by the next :meth:`refine`."""
        self._solution = (solution,)

    def _monitor_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """``|du/dx|`` ``(N, D)`` (summed over outputs) of the solution given to :meth:`follow` (by autograd),
        else of N."""
        if not self._solution:
            return self.jet(x, order=1).grad.abs().sum(1)
        with torch.enable_grad():
            z = x.detach().requires_grad_(True)
            u = self._solution[0](z)                                        # (N, out)
            grads = [torch.autograd.grad(u[:, o].sum(), z, retain_graph=o + 1 < u.shape[1])[0] for o in range(u.shape[1])]
        return sum(g.abs() for g in grads).detach()

    def knots(self) -> torch.Tensor:
        """The first layer's knots in x, ``(D, grid + 1)``."""
        first = self.layers[0]
        return self.knot_map.knots(first.grid, first.lo, first.hi)

    @torch.no_grad()
    def move_knots(self, x: torch.Tensor, monitor: torch.Tensor, floor: float = 0.1, smoothing: int = 4,
                   samples: int | None = None) -> "MappedKAN":
        """Equidistribute ``monitor`` ``(N, D)`` (per input, at sample points ``x`` ``(N, D)``) and keep the function.

        Each first-layer edge ``phi(s) = w_b silu(s) + w_s S(s)`` becomes ``phi'(s')`` with
        ``phi'(s'(x)) = phi(s(x))``: its spline is refitted by least squares on ``samples`` points uniform in
        the new s' over the layer's grid range (default ``max(8 (G + k), 256)``), exact where the new
        space contains the old edge. Changes the model in place and returns it; optimiser state must be
        rebuilt.

        Raises:
            ValueError: ``x`` or ``monitor`` not ``(N, D)``.
        """
        self.check_input(x)
        if monitor.shape != x.shape:
            raise ValueError(f"monitor must be (N, D) = {tuple(x.shape)} like x, got {tuple(monitor.shape)}")
        old = KnotMap(self.knot_map.lo, self.knot_map.hi, self.knot_map.cells).to(self.knot_map.lo)
        old.set_density(self.knot_map.density)
        density = torch.stack([equidistributing_density(x[:, a], monitor[:, a], float(self.knot_map.lo[a]),
                                                        float(self.knot_map.hi[a]), self.knot_map.cells,
                                                        floor, smoothing) for a in range(self.in_dim)])
        self.knot_map.set_density(density)
        self._refit_first_layer(old, samples)
        return self

    def _refit_first_layer(self, old: KnotMap, samples: int | None) -> None:
        """Refit the first layer's splines in the new s so ``phi'(s'(x)) = phi(s(x))`` (see :meth:`move_knots`)."""
        layer = self.layers[0]
        n = samples or max(8 * (layer.grid + layer.k), 256)
        t = torch.linspace(0, 1, n, dtype=layer.lo.dtype, device=layer.lo.device).unsqueeze(1)
        s_new = layer.lo + t * (layer.hi - layer.lo)                        # (n, in)
        s_old = old(self.knot_map.inverse(s_new))                           # (n, in)
        spline = spline_values(s_old, layer.coef, layer.lo, layer.hi, layer.grid, layer.k)[:, :, 0]  # (n, in, out)
        silu_old, silu_new = _silu_derivatives(s_old, 0)[0], _silu_derivatives(s_new, 0)[0]   # (n, in)
        scale = torch.where(layer.scale_spline.abs() < 1e-12, torch.ones_like(layer.scale_spline), layer.scale_spline)
        target = spline * layer.scale_spline + (silu_old - silu_new).unsqueeze(-1) * layer.scale_base  # (n, in, out)
        coef = fit_coefficients(s_new, target / scale, layer.lo, layer.hi, layer.grid, layer.k)  # (in, out, G+k)
        layer.scale_spline.copy_(scale)
        layer.coef = nn.Parameter(coef)
