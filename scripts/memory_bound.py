"""Peak resident memory of predict and mesh export on 10^6 points in 2-D, chunked vs one batch.

Each measurement runs in a fresh process (peak RSS, ``ru_maxrss``, only grows), on a
KAN [2, 10, 1] with grid 20 for poisson2d:

- ``baseline``: import kanpde, build the model and the 10^6 points (a 1000 x 1000 grid);
- ``predict``: ``solution.predict(points)`` with the default ``chunk_size`` (65 536);
- ``predict_one_batch``: the same with ``chunk_size = 10^6`` (what it cost before chunking);
- ``export``: ``export_solution(solution, "u.vtu", resolution=1000)`` (u, u_exact, error).

Prints each peak, the excess over the baseline, and bytes per point.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/memory_bound.py [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
PHASES = ("baseline", "predict", "predict_one_batch", "export")


def measure(phase: str, n: int) -> float:
    """Run one phase here; returns peak RSS in MiB."""
    sys.path.insert(0, str(ROOT))
    import torch

    import kanpde as kp
    import problems

    torch.set_num_threads(1)
    problem = problems.load_problem("poisson2d")
    solution = kp.Solution(problem, kp.KAN([2, 10, 1], grid=20, seed=0).double())
    points, _ = problem.domain.grid(n)                                   # (n^2, 2)
    if phase == "predict":
        solution.predict(points)
    elif phase == "predict_one_batch":
        solution.predict(points, chunk_size=len(points))
    elif phase == "export":
        with tempfile.TemporaryDirectory() as folder:
            kp.export_solution(solution, Path(folder) / "u.vtu", resolution=n)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="points per axis (n^2 points, default 10^6)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps({"peak_mib": measure(args.phase, args.n)}))
        return {}
    peaks = {}
    for phase in PHASES:
        out = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--phase", phase], check=True,
                             capture_output=True, text=True).stdout
        peaks[phase] = json.loads(out.strip().splitlines()[-1])["peak_mib"]
    points = args.n ** 2
    print(f"peak RSS, {points:,} points in 2-D (KAN [2,10,1], grid 20, float64):")
    print(f"{'phase':<20} {'peak MiB':>9} {'over baseline':>14} {'bytes/point':>12}")
    for phase, peak in peaks.items():
        extra = peak - peaks["baseline"]
        print(f"{phase:<20} {peak:9.0f} {extra:14.0f} {extra * 2**20 / points:12.0f}")
    return peaks


if __name__ == "__main__":
    main()
