"""Boundary data as a user has them: equal to the solution on the boundary, not inside.

A condition's value function is also evaluated inside the domain (a built-in Dirichlet condition uses it as
the lift of the data), so giving the exact solution there would hand the answer to the solver. The suite's
Dirichlet data are ``exact + bubble * (1 + sin(3 x_0 + 2 x_1) / 2)``, a smooth bubble that vanishes on the
boundary only, modulated so that it is no multiple of the distance function a solver builds in (a product
bubble alone is: the correction would be a constant).
"""

import torch


def boundary_data(exact, bubble, column: int | None = None):
    """``x -> exact(x)[:, column] + bubble(x) (1 + sin(3 x_0 + 2 x_1) / 2)`` as ``(N, 1)`` (all of exact's columns where ``column`` is None)."""
    def value(x):
        u = exact(x)
        modulation = 1 + torch.sin(3 * x[:, 0:1] + 2 * x[:, 1:2]) / 2
        return (u if column is None else u[:, column:column + 1]) + bubble(x) * modulation
    return value


def box_bubble(lo, hi):
    """``prod_i 4 (x_i - lo_i)(hi_i - x_i) / (hi_i - lo_i)^2``: 1 at the centre, 0 on the box's sides."""
    def bubble(x):
        out = 1.0
        for i, (a, b) in enumerate(zip(lo, hi)):
            out = out * 4 * (x[:, i:i + 1] - a) * (b - x[:, i:i + 1]) / (b - a) ** 2
        return out
    return bubble
