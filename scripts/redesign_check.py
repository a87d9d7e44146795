"""Before/after check of the training redesign (issue #25): poisson2d's default run, and every training path.

The run: ``kp.solve(poisson2d, kp.KAN([2, 10, 1], seed=0), kp.TrainConfig(seed=0, dtype=torch.float64,
verbose=False))`` on 2 threads. ``--record PATH`` writes its full history (every step's loss terms),
stage list and final errors; ``--compare PATH`` reruns it and compares with the record: every numeric
history value equal to 1e-10 (relative) through the Adam stage and the first LM stage, final rel L2
within a factor of 2.

``--record-paths PATH`` / ``--compare-paths PATH`` do the same for small runs covering every training path
(RBA, gradnorm, RAD/RAR resampling, grid growing, sparsity, L-BFGS, LM with the cg/qr solvers and Levenberg
scaling, causal weights, time marching with keep_best, a system with Galerkin rows, an MLP in float32):
their histories, stages and predictions must be equal to 1e-10.

Usage:
    PYTHONPATH=/work/main python scripts/redesign_check.py --record /work/notes/poisson2d_baseline.json
    PYTHONPATH=$PWD python scripts/redesign_check.py --compare /work/notes/poisson2d_baseline.json
    PYTHONPATH=/work/main python scripts/redesign_check.py --record-paths /work/notes/train_paths_baseline.json
    PYTHONPATH=$PWD python scripts/redesign_check.py --compare-paths /work/notes/train_paths_baseline.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.append(str(Path(__file__).resolve().parents[1]))  # PYTHONPATH (the code under test) first

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402

TIMING = {"time", "step_time"}  # wall-clock columns: never compared
PI = math.pi


def default_run() -> dict:
    """poisson2d, default config, seed 0, float64: history, stages and errors as plain JSON."""
    torch.set_num_threads(2)
    problem = problems.load_problem("poisson2d")
    model = kp.KAN([2, 10, 1], seed=0)
    start = time.perf_counter()
    solution = kp.solve(problem, model, kp.TrainConfig(seed=0, dtype=torch.float64, verbose=False))
    history = solution.history
    return {"kanpde": kp.__file__, "seconds": time.perf_counter() - start, "errors": solution.errors(),
            "stages": history.stages, "steps": history.steps}


# -- small runs, one per training path -----------------------------------------------------------------


def poisson(hard=False):
    def pde(x, u):
        return u.laplacian() + 2 * PI ** 2 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])
    conditions = [kp.Dirichlet(0.0)] if hard else [kp.Dirichlet(0.0, hard=False), kp.Neumann(0.0, on="top")]
    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, conditions,
                      exact=lambda x: torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:]))

def heat():
    return kp.Problem(kp.Interval(0, 1) * kp.TimeInterval(0, 1), lambda x, u: u.d("t") - 0.1 * u.d("x", "x"),
                      [kp.Initial(lambda x: torch.sin(PI * x[:, :1])), kp.Dirichlet(0.0)],
                      exact=lambda x: torch.sin(PI * x[:, :1]) * torch.exp(-0.1 * PI**2 * x[:, 1:]))

def system():
    def pde(x, u):
        return u[0].d("x", "x") - u[1].value, u[1].value + PI ** 2 * torch.sin(PI * x)
    return kp.Problem(kp.Interval(-1, 1), pde, [kp.Periodic("x"), kp.Dirichlet(0.0, on="left", component=0),
                                                kp.Neumann(PI, on="left", component=0)], outputs=("u", "v"))

S = dict(verbose=False, dtype=torch.float64, interior_points=60, boundary_points=16, eval_every=3)
CASES = {
    "rba_lbfgs_lm": lambda: (poisson(), kp.KAN([2, 3, 1], grid=3), kp.TrainConfig(seed=1, balance="rba", resample_every=5, adaptive="rad",
        update_grid="grow", schedule=[kp.Adam(12, lr_final=1e-3), kp.LBFGS(15, grid=5, chunk=4), kp.LM(4, grid=6)], **S)),
    "gradnorm_rar_sparsity": lambda: (poisson(), kp.KAN([2, 3, 1], grid=3), kp.TrainConfig(seed=2, resample_every=4, adaptive="rar",
        schedule=[kp.Adam(10, sparsity=1e-3), kp.LBFGS(8, sparsity=1e-3), kp.LM(3, grid=5, points=80)], **S)),
    "hard_default_weights": lambda: (poisson(True), kp.KAN([2, 3, 1], grid=3), kp.TrainConfig(seed=0, weights={"pde": 0.5},
        schedule=[kp.Adam(6), kp.LM(4, grid=5, solver="cg"), kp.LM(2, solver="qr", scaling="levenberg")], **S)),
    "causal": lambda: (heat(), kp.KAN([2, 3, 1], grid=3), kp.TrainConfig(seed=3, causal=kp.Causal(chunks=4, eps=[0.1, 1.0]),
        schedule=[kp.Adam(8), kp.LBFGS(6, chunk=3), kp.LM(4, grid=5)], **S)),
    "marching_keep_best": lambda: (heat(), kp.KAN([2, 3, 1], grid=3), kp.TrainConfig(seed=4, marching=kp.TimeMarching(2, keep_best=True, overlap=0.1),
        schedule=[kp.Adam(5), kp.LM(3, grid=5)], **S)),
    "system_galerkin": lambda: (system(), kp.KAN([2, 3, 2], grid=3), kp.TrainConfig(seed=5, weights={"pde1": 0.3},
        schedule=[kp.Adam(6), kp.LBFGS(6), kp.LM(3, galerkin=kp.Galerkin(points=256, modes=3))], **S)),
    "mlp_float32": lambda: (poisson(), kp.MLP([2, 8, 1]), kp.TrainConfig(seed=6, verbose=False, interior_points=50, boundary_points=10,
        schedule=[kp.Adam(8), kp.LBFGS(8, chunk=4)])),
}


def path_runs() -> dict:
    """Every CASES run's history (no wall-clock columns), stages and predictions at 20 fixed points."""
    torch.set_num_threads(1)
    out = {}
    for name, make in CASES.items():
        problem, model, config = make()
        solution = kp.solve(problem, model, config)
        x = torch.rand(20, problem.domain.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        out[name] = {"steps": [{k: v for k, v in r.items() if k not in TIMING} for r in solution.history.steps],
                     "stages": solution.history.stages,
                     "pred": solution.predict(x.to(config.dtype)).double().reshape(-1).tolist()}
    return out


def compare_paths(before: dict, after: dict, tol: float = 1e-10) -> dict:
    """Per run: same step keys and stages, and the largest relative difference of history and predictions."""
    verdict = {}
    for name, old in before.items():
        new = after[name]
        worst = max([abs(v - b[k]) / max(abs(v), 1e-300) for a, b in zip(old["steps"], new["steps"])
                     for k, v in a.items() if isinstance(v, (int, float))] + [0.0])
        pred = max(abs(u - v) / max(abs(u), 1e-12) for u, v in zip(old["pred"], new["pred"]))
        same = [sorted(r) for r in old["steps"]] == [sorted(r) for r in new["steps"]] and old["stages"] == new["stages"]
        verdict[name] = {"steps": len(new["steps"]), "same_keys_and_stages": same, "max_rel_history": worst,
                         "max_rel_prediction": pred, "ok": same and worst <= tol and pred <= tol}
    return verdict


# -- poisson2d's default run -------------------------------------------------------------------------------


def compared_steps(record: dict) -> int:
    """Number of steps through the first LM stage (the stage after the last Adam stage that is an LM)."""
    stages = record["stages"]
    first_lm = next(i for i, s in enumerate(stages) if s["label"].startswith("LM"))
    return stages[first_lm + 1]["start"] if first_lm + 1 < len(stages) else record["steps"][-1]["step"]


def compare(before: dict, after: dict, tol: float = 1e-10) -> dict:
    """Largest relative difference of the history values through the first LM stage, and the error ratio."""
    last = compared_steps(before)
    rows = [r for r in before["steps"] if r["step"] <= last]
    worst, where = 0.0, None
    if len(after["steps"]) < len(rows):
        raise AssertionError(f"after-run has {len(after['steps'])} steps, the record {len(rows)} to compare")
    for old, new in zip(rows, after["steps"]):
        if set(old) != set(new):
            raise AssertionError(f"step {old['step']}: columns differ: {sorted(set(old) ^ set(new))}")
        for key, value in old.items():
            if key in TIMING or not isinstance(value, (int, float)):
                if key not in TIMING and value != new[key]:
                    raise AssertionError(f"step {old['step']} {key}: {value!r} != {new[key]!r}")
                continue
            diff = abs(new[key] - value) / max(abs(value), 1e-300)
            if diff > worst or math.isnan(diff):
                worst, where = diff, (old["step"], key)
    ratio = after["errors"]["rel_l2"] / before["errors"]["rel_l2"]
    return {"steps_compared": len(rows), "through_step": last, "max_rel_diff": worst, "at": where,
            "rel_l2_before": before["errors"]["rel_l2"], "rel_l2_after": after["errors"]["rel_l2"],
            "ratio": ratio, "history_ok": worst <= tol, "error_ok": 0.5 <= ratio <= 2.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--record", help="write the run's history and errors here")
    group.add_argument("--compare", help="rerun and compare with this record")
    group.add_argument("--record-paths", help="write the small runs' histories here")
    group.add_argument("--compare-paths", help="rerun the small runs and compare with this record")
    args = parser.parse_args()
    if args.record_paths or args.compare_paths:
        runs = path_runs()
        if args.record_paths:
            Path(args.record_paths).write_text(json.dumps(runs))
            print(f"recorded {len(runs)} runs from {kp.__file__}")
            return
        verdict = compare_paths(json.loads(Path(args.compare_paths).read_text()), runs)
        print(json.dumps(verdict, indent=1))
        sys.exit(0 if all(v["ok"] for v in verdict.values()) else 1)
    result = default_run()
    if args.record:
        Path(args.record).write_text(json.dumps(result, indent=1))
        print(f"recorded {len(result['steps'])} steps, rel L2 {result['errors']['rel_l2']:.3e} "
              f"({result['seconds']:.0f} s) from {result['kanpde']}")
        return
    verdict = compare(json.loads(Path(args.compare).read_text()), result)
    print(json.dumps(verdict, indent=1))
    sys.exit(0 if verdict["history_ok"] and verdict["error_ok"] else 1)


if __name__ == "__main__":
    main()
