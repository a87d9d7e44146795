"""Kovasznay flow (Re = 20): DeepXDE 1.15's own example beside the automatic path, timed in one run.

DeepXDE's examples/pinn_forward/Kovasznay_flow.py: a 4 x 50 tanh network, 2601 domain and 400 boundary
points, velocity Dirichlet data on the whole boundary and the pressure on x = 1, Adam (lr 1e-3, 30 000
iterations) then L-BFGS. kanpde: ``kp.solve(problem)`` on suite/kovasznay.py (nothing else given). Both on
``--threads`` threads (default 2); rel L2 per component on the same 100 000 random points. Each side
records its wall and CPU seconds and the machine's load average before and after it; the ratio printed
is DeepXDE's wall time over kanpde's.

``--adam N --lbfgs M`` shorten DeepXDE's run (the example's own: 30 000 and L-BFGS to its 15 000-iteration
cap); a shortened row says so (``shortened``) and is not the published example.

DeepXDE is not a dependency of kanpde: where it is not installed the script says so and runs the kanpde side
(install it in a separate environment, e.g. ``python -m venv dde && dde/bin/pip install deepxde``, and run
this script with that interpreter and ``PYTHONPATH`` at the repository).

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/deepxde_kovasznay.py [--threads 2] [--adam 30000] [--lbfgs 15000]

Writes docs/benchmarks/deepxde_kovasznay.json.
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


def timed(fn) -> dict:
    """``fn()``'s row with its wall and CPU seconds and the 1-minute load average before and after."""
    load, started, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
    row = fn()
    if "skipped" not in row:
        row.update(seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu,
                   load=[round(load, 1), round(os.getloadavg()[0], 1)])
    return row


def run_deepxde(adam_steps: int, lbfgs_steps: int, points: np.ndarray) -> dict:
    """DeepXDE's Kovasznay example (its own backend: torch here), L-BFGS capped at ``lbfgs_steps``."""
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
    dde.optimizers.set_LBFGS_options(maxiter=lbfgs_steps)
    model.compile("adam", lr=1e-3)
    model.train(iterations=adam_steps, display_every=5000)
    model.compile("L-BFGS")
    model.train()
    return {"rel_l2": rel_l2(model.predict(points), points), "version": dde.__version__, "adam": adam_steps,
            "lbfgs_cap": lbfgs_steps, "shortened": adam_steps < 30000 or lbfgs_steps < 15000}


def run_kanpde(seed: int, points: np.ndarray) -> dict:
    solution = kp.solve(kovasznay.problem, config=kp.TrainConfig(seed=seed, verbose=False))
    return {"rel_l2": rel_l2(solution.predict(points), points), "decisions": solution.decisions,
            "train_seconds": solution.elapsed}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--adam", type=int, default=30000, help="DeepXDE's Adam iterations (its example: 30000)")
    parser.add_argument("--lbfgs", type=int, default=15000, help="DeepXDE's L-BFGS cap (its default: 15000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-deepxde", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "deepxde_kovasznay.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    points = test_points()
    deepxde = ({"skipped": "--skip-deepxde"} if args.skip_deepxde
               else timed(lambda: run_deepxde(args.adam, args.lbfgs, points)))
    rows = {"deepxde": deepxde, "kanpde": timed(lambda: run_kanpde(args.seed, points)), "threads": args.threads}
    if "seconds" in deepxde:
        rows["ratio"] = deepxde["seconds"] / rows["kanpde"]["seconds"]  # DeepXDE's wall time over kanpde's
    for name in ("deepxde", "kanpde"):
        row = rows[name]
        if "skipped" in row:
            print(f"{name:8s} skipped: {row['skipped']}")
        else:
            errors = "  ".join(f"{c} {row['rel_l2'][c]:.2e}" for c in COMPONENTS)
            print(f"{name:8s} {row['seconds']:8.1f} s wall {row['cpu_seconds']:8.1f} s CPU  load {row['load']}  "
                  f"{errors}")
    if "ratio" in rows:
        print(f"DeepXDE / kanpde wall time: {rows['ratio']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=1, default=str)))
    return rows


if __name__ == "__main__":
    main()
