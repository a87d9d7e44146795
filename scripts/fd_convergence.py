"""Convergence tables for the finite-difference baselines in kanpde.fd.

For every solver: a manufactured or exact solution (or, for Burgers and
Allen-Cahn, a 4x finer reference run), solved on successively refined grids;
prints n, h, the max-abs and relative-L2 nodal errors, the observed order
between successive rows and the solve time.

Usage: python scripts/fd_convergence.py [--levels 4] [--only poisson-2d-o4 heat-1d ...]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from kanpde import numpy_function as N  # these data are numpy functions; kp.fd passes torch points
from kanpde.pde.metrics import error_metrics
from kanpde.fd import advection, allen_cahn, burgers, heat, helmholtz, poisson, wave

PI = np.pi


def _sine(p):
    return np.prod(np.sin(PI * p), axis=1)


def _exact_rows(solve, exact):
    """Case from solve(n) -> FDSolution and an exact solution on its points."""

    def rows(ns):
        for n in ns:
            sol = solve(n)
            yield n, sol, exact(sol.points()).reshape(sol.values.shape)

    return rows


def _refined_rows(solve, factor=4):
    """Case whose reference is one run `factor` times finer than the finest grid (last time level)."""

    def rows(ns):
        ref = solve(factor * ns[-1])
        for n in ns:
            yield n, _Final(solve(n)), ref.values[:: factor * ns[-1] // n, -1]

    return rows


class _Final:
    """View of an FDSolution restricted to its last time level."""

    def __init__(self, sol):
        self.values, self.h, self.elapsed, self.method = sol.values[:, -1], sol.h, sol.elapsed, sol.method


def _poisson(d, order):
    f = lambda p: -d * PI**2 * _sine(p)  # noqa: E731
    return _exact_rows(lambda n: poisson(N(f), [-1.0] * d, [1.0] * d, n, order=order), _sine)


def _poisson_boundary(order):
    exact = lambda p: np.exp(p[:, 0]) * np.sin(2 * p[:, 1])  # noqa: E731
    f = lambda p: -3.0 * exact(p)  # noqa: E731
    return _exact_rows(lambda n: poisson(N(f), [0, -1], [1, 2], (n, 3 * n), g=N(exact), order=order), exact)


def _helmholtz():
    exact = lambda p: np.sin(PI * p[:, 0]) * np.sin(4 * PI * p[:, 1])  # noqa: E731
    f = lambda p: (1.0 - 17 * PI**2) * exact(p)  # noqa: E731
    return _exact_rows(lambda n: helmholtz(N(f), 1.0, [-1, -1], [1, 1], n), exact)


def _heat(d, alpha=0.5):
    exact = lambda p: np.exp(-d * alpha * PI**2 * p[:, -1]) * _sine(p[:, :-1])  # noqa: E731
    return _exact_rows(lambda n: heat(N(_sine), alpha, [-1.0] * d, [1.0] * d, n, 0.25, max(n // 2, 1)), exact)


def _advection(c=0.7):
    exact = lambda p: np.sin(PI * (p[:, 0] - c * p[:, 1]))  # noqa: E731
    return _exact_rows(lambda n: advection(N(lambda p: np.sin(PI * p[:, 0])), c, -1, 1, n, 0.5, n // 2), exact)


def _wave(c=2.0):
    exact = lambda p: np.sin(PI * p[:, 0]) * np.cos(PI * c * p[:, 1])  # noqa: E731
    return _exact_rows(lambda n: wave(N(lambda p: np.sin(PI * p[:, 0])), 0.0, c, -1, 1, n, 0.5, n), exact)


def _burgers():
    u0 = lambda p: -np.sin(PI * p[:, 0])  # noqa: E731
    return _refined_rows(lambda n: burgers(N(u0), 0.1, -1, 1, n, 0.2, n // 2))


def _allen_cahn():
    u0 = lambda p: p[:, 0] ** 2 * np.cos(PI * p[:, 0])  # noqa: E731
    return _refined_rows(lambda n: allen_cahn(N(u0), 0.01, -1, 1, n, 0.1, n))


# name -> (description, case, coarsest n)
CASES = {
    "poisson-1d-o2": ("Δu=f, u=sin(πx), [-1,1]", _poisson(1, 2), 16),
    "poisson-1d-o4": ("Δu=f, u=sin(πx), Mehrstellen", _poisson(1, 4), 8),
    "poisson-2d-o2": ("Δu=f, u=sin(πx)sin(πy), [-1,1]²", _poisson(2, 2), 16),
    "poisson-2d-o4": ("Δu=f, u=sin(πx)sin(πy), Mehrstellen", _poisson(2, 4), 8),
    "poisson-3d-o2": ("Δu=f, u=Πsin(πx_i), [-1,1]³", _poisson(3, 2), 8),
    "poisson-3d-o4": ("Δu=f, u=Πsin(πx_i), Mehrstellen", _poisson(3, 4), 6),
    "poisson-bc-o4": ("Δu=f, u=e^x sin(2y), g≠0, hx≠hy", _poisson_boundary(4), 8),
    "helmholtz-2d": ("Δu+u=f, u=sin(πx)sin(4πy)", _helmholtz(), 24),
    "heat-1d": ("u_t=0.5u_xx, u=e^{-απ²t}sin(πx), CN, nt=n/2", _heat(1), 16),
    "heat-2d": ("u_t=0.5Δu, product solution, CN, nt=n/2", _heat(2), 8),
    "advection": ("u_t+0.7u_x=0, periodic, Lax-Wendroff", _advection(), 32),
    "wave": ("u_tt=4u_xx, standing wave, leapfrog", _wave(), 16),
    "burgers": ("ν=0.1, u0=-sin(πx), t=0.2, vs 4x finer run", _burgers(), 32),
    "allen-cahn": ("ε=0.01, u0=x²cos(πx), t=0.1, vs 4x finer run", _allen_cahn(), 32),
}


def convergence_table(name: str, levels: int) -> list:
    """Run one case on `levels` grids (n doubling); print and return its rows."""
    description, case, n0 = CASES[name]
    ns = [n0 * 2**i for i in range(levels)]
    print(f"\n{name}: {description}")
    print(f"{'n':>6} {'h':>10} {'max abs err':>12} {'rel L2 err':>12} {'order':>6} {'time [s]':>9}")
    rows, prev = [], None
    for n, sol, reference in case(ns):
        errors = error_metrics(np.asarray(sol.values, dtype=float), np.asarray(reference, dtype=float))
        max_abs, rel_l2 = errors["max_abs"], errors["rel_l2"]
        order = np.log(prev[1] / max_abs) / np.log(prev[0] / sol.h) if prev else float("nan")
        order_txt = f"{order:6.2f}" if prev else f"{'-':>6}"
        print(f"{n:6d} {sol.h:10.3e} {max_abs:12.3e} {rel_l2:12.3e} {order_txt} {sol.elapsed:9.4f}")
        rows.append({"n": n, "h": sol.h, "max_abs": max_abs, "rel_l2": rel_l2, "order": order, "time": sol.elapsed})
        prev = (sol.h, max_abs)
    print(f"  method: {sol.method}")
    return rows


def burgers_shock(n: int = 2048, nt: int = 2000) -> dict:
    """The PINN Burgers benchmark (ν=0.01/π, u0=-sin(πx), t in [0,1]): summary at t=1."""
    sol = burgers(lambda p: -np.sin(PI * p[:, 0]), 0.01 / PI, -1, 1, n, 1.0, nt, save_every=nt)
    u, x = sol.values[:, -1], sol.axes["x"]
    info = {
        "u(0,1)": float(u[n // 2]),
        "max|u_x|(t=1)": float(np.max(np.abs(np.diff(u) / np.diff(x)))),
        "time": sol.elapsed,
    }
    print(f"\nburgers shock benchmark (n={n}, nt={nt}): " + ", ".join(f"{k}={v:.4g}" for k, v in info.items()))
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=4, help="grids per table (n doubles each time)")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--no-shock", action="store_true", help="skip the Burgers shock benchmark")
    args = parser.parse_args(argv)
    if args.levels < 2:
        parser.error(f"--levels must be >= 2, got {args.levels}")
    for name in args.only or CASES:
        convergence_table(name, args.levels)
    if not args.no_shock and not args.only:
        burgers_shock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
