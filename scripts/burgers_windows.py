"""Burgers time windows from the exact state: where the marching error comes from.

Trains burgers1d's per-window schedule (``burgers1d.config()`` without its marching) on ``[t0, t1]``, starting
from the Cole-Hopf solution at t0 (``reference_torch``, exact and differentiable), in ``--windows`` windows,
optionally adaptive (``--tolerance``: :class:`kanpde.TimeMarching`'s held-out-residual control). Prints each
window's span, held-out residual (the validation loss its kept model reached) and tries, then rel L2 over
``[t0, t1]`` and at t1 against the reference, and the wall time.

What it showed (seed 0, 1 thread, two runs side by side), from the exact state at t = 0.25 to 0.5, across
the shock's formation (t ~ 1/pi):

- 4 windows: rel L2 1.4e-4, 7.8e-4 at t = 0.5, 58 s; the windows' held-out residuals grow one after
  another, 4.3e-6, 9.5e-5, 2.4e-4, 1.4e-3;
- 8 windows: 2.1e-4, 4.4e-4 at t = 0.5, 111 s; residuals 1.1e-6 then 8.8e-5 .. 3.0e-3;
- 4 windows, overlap 0.5: 3.4e-4, 4.5e-4 at t = 0.5, 55 s;
- adaptive, tolerance 1e-5 (first length 1/16, at most 4 halvings): 46 windows, most at the floor
  (1/256) whose residuals stay 1e-5 .. 4e-5 and do not meet it; 3.2e-5, 6.4e-5 at t = 0.5, 795 s.

A window from the exact state does well (t in [0.375, 0.390625]: residual 5.7e-6, 1.2e-5 at its end) and a
window from another window's end does not: the built-in start u = u_prev(x, t_k) hands over u_prev's
second x-derivatives, whose error at the shock is far above its value's, and the new window's residual
starts there. Its value error is not what hurts: on [0.375, 0.4375] in one window the held-out residual is
1.6e-5 from the exact state, 2.5e-5 from it plus the smooth error 3e-4 sin(pi x) cos(3 pi x)
(``--perturb 3e-4``), and 2.4e-4 from the previous window's end (the 4 windows from t = 0.25). Shorter
windows alone do not remove that.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/burgers_windows.py --t0 0.25 --t1 0.5 --windows 4
       [--tolerance 1e-5] [--overlap 0] [--perturb 0] [--seed 0] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmark

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from benchmark import first_grid  # noqa: E402
from problems import burgers1d  # noqa: E402


def from_exact_state(t0: float, t1: float, perturb: float = 0.0) -> kp.Problem:
    """burgers1d on ``[-1, 1] x [t0, t1]`` with the exact solution at t0 as its Initial value, plus the smooth
    error ``perturb sin(pi x) cos(3 pi x)`` (zero at x = +-1)."""
    if not 0 <= t0 < t1 <= burgers1d.T1:
        raise ValueError(f"expected 0 <= t0 < t1 <= {burgers1d.T1}, got t0 = {t0}, t1 = {t1}")

    def start(x: torch.Tensor) -> torch.Tensor:  # the Cole-Hopf formula is singular at t = 0: u0 there
        error = perturb * torch.sin(burgers1d.PI * x[:, :1]) * torch.cos(3 * burgers1d.PI * x[:, :1])
        if t0 == 0:
            return burgers1d.initial(x) + error
        return burgers1d.reference_torch(torch.cat([x[:, :1], torch.full_like(x[:, :1], t0)], 1)) + error

    base = burgers1d.problem()
    domain = kp.Interval(burgers1d.LO, burgers1d.HI) * kp.TimeInterval(t0, t1)
    return kp.Problem(domain, burgers1d.pde, [kp.Dirichlet(0.0), kp.Initial(start)], reference=base.reference,
                      name="burgers1d_windows", features=base.features)


def run(t0: float, t1: float, windows: int, tolerance: float | None, overlap: float, seed: int,
        perturb: float = 0.0) -> dict:
    """Train and score; returns the rel L2 over the span and at t1, the windows and the seconds."""
    config = burgers1d.config()
    marching = dataclasses.replace(config.marching, windows=windows, tolerance=tolerance, overlap=overlap)
    config = dataclasses.replace(config, marching=marching, seed=seed, verbose=False)
    problem = from_exact_state(t0, t1, perturb)
    start = time.perf_counter()
    solution = kp.solve(problem, kp.KAN([problem.input_dim, 10, 1], grid=first_grid(config), seed=seed), config)
    seconds = time.perf_counter() - start
    x = torch.linspace(burgers1d.LO, burgers1d.HI, 2001, dtype=torch.float64)[:, None]
    end = torch.cat([x, torch.full_like(x, t1)], 1)
    exact = burgers1d.reference(end)
    at_end = float((torch.as_tensor(solution.predict(end)).reshape(-1) - exact.reshape(-1)).norm() / exact.norm())
    spans = [s for s in solution.history.stages if "span" in s]
    return {"rel_l2": solution.errors()["rel_l2"], "at_t1": at_end, "seconds": seconds,
            "windows": [(s["span"], s["validation"], s["tries"]) for s in spans]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t0", type=float, default=0.25)
    parser.add_argument("--t1", type=float, default=0.5)
    parser.add_argument("--windows", type=int, default=4, help="the number of windows (adaptive: the first length)")
    parser.add_argument("--tolerance", type=float, default=None, help="adaptive windows' held-out residual")
    parser.add_argument("--overlap", type=float, default=0.0)
    parser.add_argument("--perturb", type=float, default=0.0, help="a smooth error added to the start state")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = run(args.t0, args.t1, args.windows, args.tolerance, args.overlap, args.seed, args.perturb)
    for (a, b), residual, tries in result["windows"]:
        print(f"  [{a:.5f}, {b:.5f}]  held-out residual {residual:.2e}  tries {tries}")
    print(f"rel L2 {result['rel_l2']:.3e} on [{args.t0}, {args.t1}], {result['at_t1']:.3e} at t = {args.t1}; "
          f"{len(result['windows'])} windows, {result['seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
