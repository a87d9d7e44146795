"""How well a point set integrates a trained KAN's PDE residual against smooth test functions.

Trains helmholtz2d (a [2, 10, 1] KAN) with the default schedule minus its Galerkin iteration, then
computes the projections ``c_mn = ∫ R v_mn`` of the residual on the sine products
``v_mn = sin(mπ(x+1)/2) sin(nπ(y+1)/2)``, m, n <= 4 (mean square 1/4 on [-1, 1]², so ∫ v² = 1), with
scrambled Sobol sets and composite Gauss-Legendre rules (``NxP``: N equal intervals per axis, P nodes
each), and prints each rule's largest error against a fine Gauss-Legendre reference. Since
``R = (Δ + 1) e``, ``c_11 = λ_11 ∫ e v_11`` with ``λ_11 = 1 - π²/2``: an error of ε in c_11 moves the error's
(1, 1) mode by ε / 3.9, against ‖u‖ = 1. This is why :class:`kanpde.Galerkin` integrates on 2^17 points.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/galerkin_quadrature.py [--seed 1] [--sobol 4096 65536 262144]
       [--gauss 80x2 80x4 60x3] [--reference 240x8]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import qmc  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.train.sizing import sized  # noqa: E402

MODES = 4


def trained_model(seed: int, schedule=None, points=None):
    """helmholtz2d's [2, 10, 1] KAN after the default schedule without its Galerkin iteration (or ``schedule``)."""
    problem, model = problems.load_problem("helmholtz2d"), kp.KAN([2, 10, 1], seed=seed)
    config = sized(kp.TrainConfig(seed=seed, verbose=False), model)
    config = dataclasses.replace(config, schedule=schedule or [s for s in config.schedule
                                                               if not getattr(s, "galerkin", None)],
                                 **({"interior_points": points} if points else {}))
    solution = kp.solve(problem, model, config)
    return problem, solution


def gauss(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre on [-1, 1]²: ``"NxP"``, N intervals per axis with P nodes each."""
    intervals, nodes = (int(v) for v in spec.split("x"))
    t, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(-1, 1, intervals + 1)
    h = edges[1] - edges[0]
    x1 = (edges[:-1, None] + (t[None] + 1) * h / 2).reshape(-1)
    w1 = np.tile(w * h / 2, intervals)
    return np.stack(np.meshgrid(x1, x1, indexing="ij"), -1).reshape(-1, 2), np.outer(w1, w1).reshape(-1)


def sobol(n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    return qmc.Sobol(2, seed=seed).random(n) * 2 - 1, np.full(n, 4.0 / n)


def projections(problem, network, x: np.ndarray, w: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """``∫ R v_mn`` by the rule ``(x, w)``, ``(MODES**2,)``."""
    total = np.zeros(MODES * MODES)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        tests = np.stack([np.sin(m * math.pi * (part[:, 0] + 1) / 2) * np.sin(n * math.pi * (part[:, 1] + 1) / 2)
                          for m in range(1, MODES + 1) for n in range(1, MODES + 1)], 1)
        with torch.enable_grad():
            (residual,) = problem.residuals(network, torch.as_tensor(part), "auto")
        total += (tests * w[start:start + chunk, None]).T @ residual.detach().numpy()[:, 0]
    return total


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sobol", type=int, nargs="+", default=[4096, 16384, 65536, 262144])
    parser.add_argument("--gauss", nargs="+", default=["80x2", "80x4", "60x3", "120x2", "100x4"])
    parser.add_argument("--reference", default="240x8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a 2-stage schedule on 600 points (a smoke run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    quick = dict(schedule=[kp.Adam(5), kp.LM(2, grid=10)], points=600) if args.quick else {}
    problem, solution = trained_model(args.seed, **quick)
    network = solution.network
    reference = projections(problem, network, *gauss(args.reference))
    print(f"helmholtz2d seed {args.seed}: rel L2 {solution.errors()['rel_l2']:.2e}, "
          f"max |∫ R v| {np.abs(reference).max():.2e} (reference: Gauss-Legendre {args.reference})")
    print(f"{'rule':>16s} {'points':>8s} {'max error':>10s}")
    rows = []
    rules = [(f"Sobol {n}", sobol(n)) for n in args.sobol] + [(f"Gauss {g}", gauss(g)) for g in args.gauss]
    for name, (x, w) in rules:
        error = float(np.abs(projections(problem, network, x, w) - reference).max())
        rows.append({"rule": name, "points": len(x), "max_error": error})
        print(f"{name:>16s} {len(x):8d} {error:10.2e}")
    return rows


if __name__ == "__main__":
    main()
