"""What one Levenberg-Marquardt iteration costs on a 3-output system against a scalar problem, part by part.

Two problems on the unit square with N interior points and a KAN on grid G: a scalar Poisson equation
([2, W, 1] KAN, one residual) and a 3-output system of the same kind ([2, W, 3] KAN, three residuals
coupling the outputs, Dirichlet on each component). For each, the parts of an LM iteration are timed
side by side in one process: the residual Jacobian J (``kanpde.train.jacobian.jacobian``), ``J^T J``
(``lm.gram``) and the damped solve; with the row count M, the parameter count P and the ratio the
cost model predicts (J: M P, J^T J: M P^2, solve: P^3). A ratio well above the model's is avoidable cost.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_systems_lm.py [--grid 20] [--points 2000] [--width 10]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_gram

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.train import lm  # noqa: E402
from kanpde.train.trainer import Trainer  # noqa: E402
from bench_gram import best_time as best  # noqa: E402  (the minimum of repeated timings)

PI = math.pi


def scalar() -> kp.Problem:
    def pde(x, u):
        return u.laplacian() + 2 * PI ** 2 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])

    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0, hard=False)])


def system() -> kp.Problem:
    def pde(x, f):
        u, v, p = f["u"], f["v"], f["p"]
        return (u.laplacian() - p.d("x") + v.value, v.laplacian() - p.d("y") - u.value, u.d("x") + v.d("y"))

    conditions = [kp.Dirichlet(0.0, component=c, hard=False) for c in ("u", "v", "p")]
    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, conditions, outputs=("u", "v", "p"))


def parts(problem: kp.Problem, outputs: int, args) -> dict:
    model = kp.KAN([2, args.width, outputs], grid=args.grid, seed=0).double()
    config = kp.TrainConfig(interior_points=args.points, boundary_points=args.points // 8, seed=0, verbose=False,
                            schedule=[kp.LM(1)], balance=None)
    trainer = Trainer(problem, model, config)
    with torch.enable_grad():
        lm.jacobian(trainer)  # warm: the derivative record, caches
        t_jac, (r, J) = best(lambda: lm.jacobian(trainer), args.repeats)
    t_gram, normal = best(lambda: lm.gram(J), args.repeats)
    system = lm.GaussNewton(J, r, "cholesky", normal)
    t_solve, _ = best(lambda: system.step(1e-3), args.repeats)
    return {"M": J.shape[0], "P": J.shape[1], "jacobian": t_jac, "gram": t_gram, "solve": t_solve}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    one, three = parts(scalar(), 1, args), parts(system(), 3, args)
    m, p = three["M"] / one["M"], three["P"] / one["P"]
    model = {"jacobian": m * p, "gram": m * p * p, "solve": p ** 3}
    print(f"grid {args.grid}, {args.points} points, width {args.width}: M {one['M']} -> {three['M']}, "
          f"P {one['P']} -> {three['P']}")
    for key in ("jacobian", "gram", "solve"):
        print(f"{key:9s} scalar {one[key]:8.4f} s  system {three[key]:8.4f} s  ratio {three[key] / one[key]:6.2f}"
              f"  (cost model {model[key]:6.2f})")
    total = sum(one[k] for k in model), sum(three[k] for k in model)
    print(f"iteration scalar {total[0]:8.4f} s  system {total[1]:8.4f} s  ratio {total[1] / total[0]:6.2f}")


if __name__ == "__main__":
    main()
