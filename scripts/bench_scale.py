"""Data-parallel scaling: time per Adam step against the number of ranks and of points.

Each row trains poisson2d (KAN [2, 10, 1], grid 10, float64, jet derivatives) for
``--steps`` Adam steps on N interior points in total (plus N/5 per boundary
condition), split over R local gloo ranks that share the machine's cores
(``cores // R`` threads each), and reports the median step time (loss, backward and
gradient all-reduce) and the speed-up over one rank at the same N. A CUDA row (one
rank on the GPU) is added when torch sees a GPU.

On 2 cores, 2 ranks cannot beat 1 rank with 2 threads: the same arithmetic, plus the
all-reduces. The point of the test suite is correctness (tests/test_distributed.py);
this script shows the cost.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_scale.py [--ranks 1 2] [--points 2000 8000 32000] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.train.distributed import launch  # noqa: E402


def step_time(points: int, steps: int, device: str = "cpu") -> float:
    """Median seconds per Adam step on this rank (the first 3 steps are warm-up)."""
    problem = problems.load_problem("poisson2d")
    config = kp.TrainConfig(interior_points=points, boundary_points=max(1, points // 5), schedule=[kp.Adam(steps)],
                            device=device, verbose=False, eval_every=10 ** 9, grid_update_every=None)
    solution = kp.solve(problem, kp.KAN([2, 10, 1], grid=10, seed=0), config)
    return statistics.median(r["step_time"] for r in solution.history.steps[3:])


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--points", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", default=str(ROOT / "results"), help="writes bench_scale.json here")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    rows = []
    print(f"{'device':<6} {'ranks':>5} {'threads':>7} {'points':>7} {'per rank':>8} {'ms/step':>8} {'speed-up':>8}")
    for points in args.points:
        one = None
        for ranks in args.ranks:
            threads = max(1, cores // ranks)
            if ranks == 1:
                torch.set_num_threads(threads)
                seconds = step_time(points, args.steps)
            else:
                seconds = launch(step_time, ranks, points, args.steps, threads=threads)
            one = seconds if ranks == 1 else one
            row = {"device": "cpu", "ranks": ranks, "threads": threads, "points": points,
                   "per_rank": points // ranks, "ms_per_step": 1e3 * seconds,
                   "speedup": (one / seconds) if one else None}
            rows.append(row)
            speedup = f"{row['speedup']:.2f}" if row["speedup"] else "-"
            print(f"cpu    {ranks:5d} {threads:7d} {points:7d} {row['per_rank']:8d} {row['ms_per_step']:8.1f} {speedup:>8}",
                  flush=True)
        if torch.cuda.is_available():
            seconds = step_time(points, args.steps, device="cuda")
            rows.append({"device": "cuda", "ranks": 1, "threads": None, "points": points, "per_rank": points,
                         "ms_per_step": 1e3 * seconds, "speedup": (one / seconds) if one else None})
            print(f"cuda   {1:5d} {'-':>7} {points:7d} {points:8d} {1e3 * seconds:8.1f} "
                  f"{rows[-1]['speedup'] or 0:8.2f}  ({torch.cuda.get_device_name()})", flush=True)
    out = Path(args.out)
    data = {"machine": {"cpu_count": cores, "platform": platform.platform(), "torch": torch.__version__}, "rows": rows}
    atomic_write(out / "bench_scale.json", lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2)))
    return rows


if __name__ == "__main__":
    main()
