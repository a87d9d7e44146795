"""Accuracy with the plain defaults, and the soft / auto-hard / balanced ablation.

Every run: ``kp.TrainConfig(seed=s, verbose=False)`` (nothing else), a ``kp.KAN([d, 10, m])``
(d = ``problem.input_dim``), 2 threads. Variants:

- ``default``: the problem as written (``hard="auto"``, ``balance="gradnorm"``);
- ``soft``: every condition a loss term (``problem.soft()``), no balancing;
- ``soft+gradnorm``: loss terms, gradient-norm balancing;
- ``hard``: built-in constraints, no balancing;
- ``default-lbfgs``: as ``default``, with the schedule's L-BFGS twin (``kp.default_schedule(lm=False)``
  on the same grids, the default before LM stages joined it).

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/accuracy_defaults.py --problems poisson2d --seeds 0 1 2
    OMP_WAIT_POLICY=PASSIVE python scripts/accuracy_defaults.py --ablation   # poisson2d and laplace_mixed

Writes results/accuracy_defaults.json (and prints a markdown table: worst rel L2 over the seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.train.sizing import final_grid  # noqa: E402

ACCEPTANCE = ["poisson2d", "laplace_mixed", "poisson_disk", "helmholtz2d", "wave1d"]
VARIANTS = {  # name: (soft conditions?, balance, LM stages?)
    "default": (False, "gradnorm", True),
    "soft": (True, None, True),
    "soft+gradnorm": (True, "gradnorm", True),
    "hard": (False, None, True),
    "default-lbfgs": (False, "gradnorm", False),
}


def run(name: str, variant: str, seed: int, **config) -> dict:
    soft, balance, lm = VARIANTS[variant]
    problem = problems.load_problem(name)
    problem = problem.soft() if soft else problem
    model = kp.KAN([problem.input_dim, 10, len(problem.outputs)], seed=seed)
    start = time.perf_counter()
    twin = {} if lm else {"schedule": kp.default_schedule(lm=False, final_grid=final_grid(model))}
    solution = kp.solve(problem, model, kp.TrainConfig(seed=seed, verbose=False, balance=balance, **twin, **config))
    return {"problem": name, "variant": variant, "seed": seed, "time_s": time.perf_counter() - start,
            "hard": list(problem.built_in), **solution.errors()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=ACCEPTANCE)
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument("--ablation", action="store_true", help="all variants on poisson2d and laplace_mixed")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="results/accuracy_defaults.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names, variants = (["poisson2d", "laplace_mixed"], list(VARIANTS)) if args.ablation else \
        (args.problems, args.variants)
    rows = []
    for name in names:
        for variant in variants:
            for seed in args.seeds:
                rows.append(run(name, variant, seed))
                r = rows[-1]
                print(f"{name:14s} {variant:14s} seed {seed}  rel L2 {r['rel_l2']:.2e}  {r['time_s']:6.1f} s",
                      flush=True)
    print("\n| problem | variant | worst rel L2 | median time (s) |\n|---|---|---:|---:|")
    for name in names:
        for variant in variants:
            mine = [r for r in rows if r["problem"] == name and r["variant"] == variant]
            times = sorted(r["time_s"] for r in mine)
            print(f"| {name} | {variant} | {max(r['rel_l2'] for r in mine):.2e} | {times[len(times) // 2]:.1f} |")
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=1)))


if __name__ == "__main__":
    main()
