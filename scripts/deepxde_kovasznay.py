"""Kovasznay flow (Re = 20): DeepXDE 1.15's own example beside the automatic path, timed in one run.

DeepXDE's examples/pinn_forward/Kovasznay_flow.py: a 4 x 50 tanh network, 2601 domain and 400 boundary
points, velocity Dirichlet data on the whole boundary and the pressure on x = 1, Adam (lr 1e-3, 30 000
iterations) then L-BFGS. kanpde: ``kp.solve(problem)`` on suite/kovasznay.py (nothing else given). Both on
``--threads`` threads (default 2); rel L2 per component on the same 100 000 random points.

DeepXDE is not a dependency of kanpde: where it is not installed the script says so and runs the kanpde side.

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/deepxde_kovasznay.py [--threads 2] [--adam 30000] [--seed 0]

Writes results/deepxde_kovasznay.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from suite import kovasznay  # noqa: E402

COMPONENTS = ("u", "v", "p")


def test_points(n: int = 100_000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform([-0.5, -0.5], [1.0, 1.5], size=(n, 2))


def rel_l2(predicted: np.ndarray, points: np.ndarray) -> dict:
    exact = kovasznay.exact(torch.as_tensor(points)).numpy()
    return {c: float(np.linalg.norm(predicted[:, i] - exact[:, i]) / np.linalg.norm(exact[:, i]))
            for i, c in enumerate(COMPONENTS)}


def run_deepxde(adam_steps: int, points: np.ndarray) -> dict:
    """DeepXDE's Kovasznay example as published (its own backend: torch here); None fields where absent."""
    try:
        os.environ.setdefault("DDE_BACKEND", "pytorch")
        import deepxde as dde
    except ImportError:
        return {"skipped": "deepxde is not installed (pip install deepxde==1.15 to time it here)"}
    re = kovasznay.RE

    def pde(x, u):
        u_vel, v_vel, p = u[:, 0:1], u[:, 1:2], u[:, 2:3]
        du_x, du_y = dde.grad.jacobian(u, x, i=0, j=0), dde.grad.jacobian(u, x, i=0, j=1)
        dv_x, dv_y = dde.grad.jacobian(u, x, i=1, j=0), dde.grad.jacobian(u, x, i=1, j=1)
        dp_x, dp_y = dde.grad.jacobian(u, x, i=2, j=0), dde.grad.jacobian(u, x, i=2, j=1)
        du_xx, du_yy = dde.grad.hessian(u, x, component=0, i=0, j=0), dde.grad.hessian(u, x, component=0, i=1, j=1)
        dv_xx, dv_yy = dde.grad.hessian(u, x, component=1, i=0, j=0), dde.grad.hessian(u, x, component=1, i=1, j=1)
        return [u_vel * du_x + v_vel * du_y + dp_x - (du_xx + du_yy) / re,
                u_vel * dv_x + v_vel * dv_y + dp_y - (dv_xx + dv_yy) / re, du_x + dv_y]

    def exact_np(x, i):
        return kovasznay.exact(torch.as_tensor(x, dtype=torch.float64)).numpy()[:, i:i + 1]

    geom = dde.geometry.Rectangle([-0.5, -0.5], [1, 1.5])
    bcs = [dde.icbc.DirichletBC(geom, lambda x: exact_np(x, 0), lambda x, on: on, component=0),
           dde.icbc.DirichletBC(geom, lambda x: exact_np(x, 1), lambda x, on: on, component=1),
           dde.icbc.DirichletBC(geom, lambda x: exact_np(x, 2), lambda x, on: on and np.isclose(x[0], 1), component=2)]
    data = dde.data.PDE(geom, pde, bcs, num_domain=2601, num_boundary=400, num_test=100000)
    model = dde.Model(data, dde.nn.FNN([2] + 4 * [50] + [3], "tanh", "Glorot normal"))
    started = time.perf_counter()
    model.compile("adam", lr=1e-3)
    model.train(iterations=adam_steps, display_every=5000)
    model.compile("L-BFGS")
    model.train()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rel_l2": rel_l2(model.predict(points), points), "version": dde.__version__}


def run_kanpde(seed: int, points: np.ndarray) -> dict:
    started = time.perf_counter()
    solution = kp.solve(kovasznay.problem, config=kp.TrainConfig(seed=seed))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rel_l2": rel_l2(solution.predict(points), points), "decisions": solution.decisions}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--adam", type=int, default=30000, help="DeepXDE's Adam iterations (its example: 30000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-deepxde", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "results" / "deepxde_kovasznay.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    points = test_points()
    rows = {"deepxde": {"skipped": "--skip-deepxde"} if args.skip_deepxde else run_deepxde(args.adam, points),
            "kanpde": run_kanpde(args.seed, points), "threads": args.threads}
    for name in ("deepxde", "kanpde"):
        row = rows[name]
        if "skipped" in row:
            print(f"{name:8s} skipped: {row['skipped']}")
        else:
            errors = "  ".join(f"{c} {row['rel_l2'][c]:.2e}" for c in COMPONENTS)
            print(f"{name:8s} {row['seconds']:8.1f} s  {errors}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=1, default=str)))
    return rows


if __name__ == "__main__":
    main()
