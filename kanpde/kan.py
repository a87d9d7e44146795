"""Kolmogorov-Arnold Networks with an analytic derivative ("jet") forward pass.

A KAN layer maps ``x in R^in`` to ``y in R^out`` by a learnable 1-D function on
every edge, summed at the nodes (Liu et al. 2024, arXiv 2404.19756):

    y_o = b_o + sum_i phi_io(x_i),   phi_io(x) = w_b[i, o] silu(x) + w_s[i, o] S_io(x),

where ``S_io`` is a B-spline of degree ``k`` on a uniform grid of ``G`` intervals
(see :mod:`kanpde.splines`; outside its grid range it continues linearly).

The jet pass carries first and second input-derivatives through the layers with
the closed-form derivatives of ``phi``, so a PDE residual needs no nested autograd:

    dy_o/dz_a        = sum_i phi'_io dx_i/dz_a
    d2y_o/dz_a dz_b  = sum_i phi''_io dx_i/dz_a dx_i/dz_b + phi'_io d2x_i/dz_a dz_b
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .splines import fit_coefficients, spline_jet, spline_values

Pair = tuple[int, int]


@dataclass
class Jet:
    """A network's output with its input derivatives at N points.

    Attributes:
        value: ``(N, out)``.
        grad: ``(N, out, D)``, ``grad[n, o, a] = d y_o / d x_a``.
        second: ``(N, out, P)``, ``second[n, o, p] = d2 y_o / d x_a d x_b`` for ``(a, b) = pairs[p]``.
        pairs: the second-derivative index pairs, ``a <= b``.
    """

    value: torch.Tensor
    grad: torch.Tensor
    second: torch.Tensor
    pairs: tuple[Pair, ...]


def _silu_derivatives(x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """silu(x) and its derivatives up to ``order``, each shaped like x."""
    s = torch.sigmoid(x)
    out = [x * s, s * (1 + x * (1 - s)), s * (1 - s) * (2 + x * (1 - 2 * s))]
    return out[: order + 1]


def normalize_pairs(pairs: Sequence[Sequence[int]] | None, dim: int) -> tuple[Pair, ...]:
    """Sorted, de-duplicated ``(a, b)`` pairs with ``a <= b``; ``None`` means the pure ones."""
    if pairs is None:
        return tuple((a, a) for a in range(dim))
    out = []
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(i, int) and 0 <= i < dim for i in pair):
            raise ValueError(f"expected second-derivative pairs (a, b) of input indices in 0..{dim - 1}, got {pair!r}")
        out.append((min(pair), max(pair)))
    return tuple(dict.fromkeys(out))


class KANLayer(nn.Module):
    """One KAN layer: ``in_dim * out_dim`` learnable edge functions.

    Args:
        in_dim, out_dim: widths.
        grid: number of grid intervals G.
        k: spline degree.
        grid_range: ``(lo, hi)`` of the grid, shared by all inputs or one pair per input.
        noise_scale: spread of the random initial spline coefficients.
        base_scale: spread of the SiLU weights is ``base_scale / sqrt(in_dim)``, like a linear layer.
    """

    def __init__(self, in_dim: int, out_dim: int, grid: int = 5, k: int = 3,
                 grid_range=(-1.0, 1.0), noise_scale: float = 0.1, base_scale: float = 1.0):
        super().__init__()
        self.in_dim, self.out_dim, self.grid, self.k = in_dim, out_dim, grid, k
        lo, hi = _per_input_range(grid_range, in_dim)
        self.register_buffer("lo", lo)
        self.register_buffer("hi", hi)
        bound = 1.0 / in_dim ** 0.5
        self.coef = nn.Parameter((torch.rand(in_dim, out_dim, grid + k) - 0.5) * noise_scale)  # (in, out, G+k)
        self.scale_base = nn.Parameter((2 * torch.rand(in_dim, out_dim) - 1) * base_scale * bound)  # (in, out)
        self.scale_spline = nn.Parameter(torch.full((in_dim, out_dim), bound))  # (in, out)
        self.bias = nn.Parameter(torch.zeros(out_dim))  # (out,)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.grid}, k={self.k}"

    def edge_values(self, x: torch.Tensor, order: int = 0, fused: bool = False) -> list[torch.Tensor]:
        """``phi_io`` and its x-derivatives on every edge.

        Args:
            fused: use the once-differentiable fused spline kernel (jet path).

        Returns:
            ``[phi, phi', ..]`` up to ``order``, each ``(N, in, out)``; the bias is not included.
        """
        evaluate = spline_jet if fused else spline_values
        coef = self.coef * self.scale_spline.unsqueeze(-1)             # (in, out, G+k)
        splines = evaluate(x, coef, self.lo, self.hi, self.grid, self.k, order).unbind(-2)
        bases = _silu_derivatives(x, order)
        return [s + b.unsqueeze(-1) * self.scale_base for s, b in zip(splines, bases)]  # (N, in, out) each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.edge_values(x)[0].sum(1) + self.bias                # (N, out)

    def jet(self, x: torch.Tensor, dx: torch.Tensor | None, d2x: torch.Tensor | None,
            pairs: tuple[Pair, ...], order: int = 2):
        """Push value, first and second derivatives through the layer.

        Args:
            x: ``(N, in)`` layer inputs.
            dx: ``(N, in, D)`` their derivatives, or ``None`` when x are the network inputs.
            d2x: ``(N, in, P)`` second derivatives for ``pairs``, or ``None`` (inputs).
            order: 1 skips second derivatives.

        Returns:
            ``(y (N, out), dy (N, out, D), d2y (N, out, P) or None)``.
        """
        phi = self.edge_values(x, order, fused=True)                    # (N, in, out) each
        y = phi[0].sum(1) + self.bias                                   # (N, out)
        d1 = phi[1]                                                     # (N, in, out)
        if dx is None:  # identity Jacobian: dy_o/dx_a = phi'_ao
            dy = d1.transpose(1, 2)                                     # (N, out, D)
        else:
            dy = torch.einsum("nio,nid->nod", d1, dx)
        if order < 2:
            return y, dy, None
        d2 = phi[2]                                                     # (N, in, out)
        if dx is None:  # identity Jacobian: only pure pairs survive, d2y_o/dx_a^2 = phi''_ao
            first, pure = _pure_selector(pairs, x)
            d2y = d2.transpose(1, 2)[:, :, first] * pure                # (N, out, P)
        else:
            a, b = zip(*pairs)
            dxdx = dx[:, :, list(a)] * dx[:, :, list(b)]                # (N, in, P)
            d2y = torch.einsum("nio,nip->nop", d2, dxdx) + torch.einsum("nio,nip->nop", d1, d2x)
        return y, dy, d2y

    @torch.no_grad()
    def set_grid(self, lo: torch.Tensor, hi: torch.Tensor, grid: int) -> None:
        """Move to the grid ``grid`` on ``[lo, hi]`` keeping the spline by least squares.

        The old spline (linear continuation included) is sampled densely on the new
        range and refitted; when the new grid nests the old one on the same range
        the fit reproduces it to round-off.
        """
        lo = lo.to(self.lo)
        hi = hi.to(self.hi)
        n = max(4 * (grid + self.k), 64)
        t = torch.linspace(0, 1, n, dtype=lo.dtype, device=lo.device).unsqueeze(1)
        x = lo + t * (hi - lo)                                          # (n, in)
        old = spline_values(x, self.coef, self.lo, self.hi, self.grid, self.k)[:, :, 0]  # (n, in, out)
        self.coef = nn.Parameter(fit_coefficients(x, old, lo, hi, grid, self.k))
        self.lo.copy_(lo)
        self.hi.copy_(hi)
        self.grid = grid


def _pure_selector(pairs: tuple[Pair, ...], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each pair (a, b): the index a, and 1 where a == b else 0."""
    first = torch.tensor([a for a, _ in pairs], device=like.device)
    pure = torch.tensor([float(a == b) for a, b in pairs], dtype=like.dtype, device=like.device)
    return first, pure


def _per_input_range(grid_range, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.as_tensor(grid_range, dtype=torch.get_default_dtype())
    if r.shape == (2,):
        r = r.expand(in_dim, 2)
    if r.shape != (in_dim, 2) or not torch.all(r[:, 1] > r[:, 0]):
        raise ValueError(f"expected grid_range (lo, hi) with hi > lo, or {in_dim} such pairs, got {grid_range!r}")
    return r[:, 0].clone(), r[:, 1].clone()


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


class KAN(nn.Module):
    """A Kolmogorov-Arnold Network ``[n_0, n_1, .., n_L]``.

    Args:
        widths: layer widths, input first, e.g. ``[2, 10, 1]``.
        grid: grid intervals per edge spline.
        k: spline degree (3 = cubic). Second derivatives need ``k >= 2``.
        grid_range: initial grid range of every layer, ``(lo, hi)``; the first
            layer also accepts one pair per input (e.g. a domain's bounding box).
        noise_scale: spread of the random initial spline coefficients.
        base_scale: scale of the SiLU weights relative to a linear layer's.
        seed: makes the initialisation reproducible.

    Raises:
        TypeError, ValueError: for widths, grid or k that are not positive integers.
    """

    def __init__(self, widths: Sequence[int], grid: int = 5, k: int = 3, grid_range=(-1.0, 1.0),
                 noise_scale: float = 0.1, base_scale: float = 1.0, seed: int | None = None):
        super().__init__()
        widths = list(widths) if not isinstance(widths, (str, bytes)) else widths
        if not isinstance(widths, list) or len(widths) < 2:
            raise ValueError(f"expected widths as a list of at least 2 layer sizes like [2, 10, 1], got {widths!r}")
        for w in widths:
            _check_int("each width", w, 1)
        _check_int("grid", grid, 1)
        _check_int("k", k, 0)
        self.widths = widths
        generator_state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(seed)
        try:
            self.layers = nn.ModuleList(
                KANLayer(i, o, grid, k, grid_range if n == 0 else _first_pair(grid_range), noise_scale, base_scale)
                for n, (i, o) in enumerate(zip(widths[:-1], widths[1:])))
        finally:
            if seed is not None:
                torch.random.set_rng_state(generator_state)

    @property
    def in_dim(self) -> int:
        return self.widths[0]

    @property
    def out_dim(self) -> int:
        return self.widths[-1]

    @property
    def grid(self) -> int:
        return self.layers[0].grid

    @property
    def k(self) -> int:
        return self.layers[0].k

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of shape (N, {self.in_dim}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected input of shape (N, {self.in_dim}), got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``(N, out)`` at inputs ``x`` ``(N, in)``."""
        self._check_input(x)
        for layer in self.layers:
            x = layer(x)
        return x

    def jet(self, x: torch.Tensor, pairs: Sequence[Sequence[int]] | None = None, order: int = 2) -> Jet:
        """Output with its first and second input-derivatives, without nested autograd.

        Args:
            x: ``(N, in)`` inputs.
            pairs: second derivatives wanted, as input index pairs ``(a, b)``;
                default all pure ones ``(a, a)``.
            order: 1 computes first derivatives only.

        Returns:
            :class:`Jet` with value ``(N, out)``, grad ``(N, out, in)``, second ``(N, out, P)``.

        Raises:
            ValueError: second derivatives of splines of degree k < 2 (their
                second derivative is a sum of Dirac deltas), or bad pairs.
        """
        self._check_input(x)
        if order not in (1, 2):
            raise ValueError(f"jet order must be 1 or 2, got {order!r}")
        pairs = normalize_pairs(pairs, self.in_dim) if order == 2 else ()
        if order == 2 and self.k < 2:
            raise ValueError(f"second derivatives need spline degree k >= 2, got k={self.k}")
        dx = d2x = None
        for layer in self.layers:
            x, dx, d2x = layer.jet(x, dx, d2x, pairs, order)
        if d2x is None:
            d2x = x.new_zeros(x.shape[0], self.out_dim, 0)
        return Jet(x, dx, d2x, pairs)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin: float = 0.0) -> "KAN":
        """Fit every layer's grid range to the activations seen on samples ``x``.

        Each layer's range becomes ``[min, max]`` of its inputs over ``x`` (widened by
        ``margin`` times the span), and its splines are refitted by least squares so
        the network function is kept (to the accuracy of the new grid).
        """
        self._check_input(x)
        for layer in self.layers:
            lo, hi = x.min(0).values, x.max(0).values
            span = (hi - lo).clamp_min(1e-6)
            layer.set_grid(lo - margin * span, hi + margin * span, layer.grid)
            x = layer(x)
        return self

    @torch.no_grad()
    def refine(self, new_grid: int) -> "KAN":
        """Grid extension: move every layer to ``new_grid`` intervals keeping the function.

        Exact to round-off when the new grid nests the old one (5 -> 10 -> 20);
        least squares otherwise. Changes the model in place and returns it;
        optimiser state for the spline coefficients must be rebuilt.
        """
        _check_int("new_grid", new_grid, 1)
        for layer in self.layers:
            layer.set_grid(layer.lo, layer.hi, new_grid)
        return self


def _first_pair(grid_range):
    """The range hidden layers start with: the first pair when per-input ranges were given."""
    r = torch.as_tensor(grid_range)
    return tuple(r.tolist()) if r.ndim == 1 else (float(r[:, 0].min()), float(r[:, 1].max()))
