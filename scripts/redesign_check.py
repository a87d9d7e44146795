"""Before/after check of the training redesign (issue #25) on poisson2d's default run.

The run: ``kp.solve(poisson2d, kp.KAN([2, 10, 1], seed=0), kp.TrainConfig(seed=0, dtype=torch.float64,
verbose=False))`` on 2 threads. ``--record PATH`` writes its full history (every step's loss terms),
stage list and final errors; ``--compare PATH`` reruns it and compares with the record: every numeric
history value equal to 1e-10 (relative) through the Adam stage and the first LM stage, final rel L2
within a factor of 2.

Usage:
    PYTHONPATH=/work/main python scripts/redesign_check.py --record /work/notes/poisson2d_baseline.json
    PYTHONPATH=$PWD python scripts/redesign_check.py --compare /work/notes/poisson2d_baseline.json
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
    args = parser.parse_args()
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
