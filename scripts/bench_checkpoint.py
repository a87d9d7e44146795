"""Cost of resumable checkpoints: write time, file size and share of the run.

    python scripts/bench_checkpoint.py                 # Poisson 2-D, KAN [2,10,1], grids 5 -> 40
    python scripts/bench_checkpoint.py --steps 20      # quicker

Trains once with ``TrainConfig(checkpoint=..., checkpoint_every=N)`` and times every write.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time

import torch

import kanpde as kp
from kanpde.train import resume


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per stage (Adam, L-BFGS G=5, L-BFGS G=40)")
    parser.add_argument("--every", type=int, default=50, help="checkpoint_every")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def pde(x, u):
        return u.laplacian() + 2 * math.pi ** 2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])

    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)])
    times = []
    save = resume.save

    def timed(*a, **k):
        started = time.perf_counter()
        out = save(*a, **k)
        times.append(time.perf_counter() - started)
        return out

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.ckpt")
        config = kp.TrainConfig(verbose=False, checkpoint=path, checkpoint_every=args.every, seed=0,
                                schedule=[kp.Adam(args.steps), kp.LBFGS(args.steps, grid=5),
                                          kp.LBFGS(args.steps, grid=40)])
        resume.save = timed
        try:
            started = time.perf_counter()
            kp.solve(problem, kp.KAN([2, 10, 1], grid=5), config)
            total = time.perf_counter() - started
        finally:
            resume.save = save
        size = os.path.getsize(path)
    row = {"checkpoints": len(times), "mean_ms": 1e3 * sum(times) / max(len(times), 1),
           "max_ms": 1e3 * max(times, default=0.0), "file_kB": size / 1e3, "run_s": total,
           "share": sum(times) / total}
    print(f"{row['checkpoints']} checkpoints: mean write {row['mean_ms']:.1f} ms, max {row['max_ms']:.1f} ms, "
          f"file {row['file_kB']:.0f} kB; run {total:.1f} s, {100 * row['share']:.1f} % of it writing checkpoints")
    return row


if __name__ == "__main__":
    main()
