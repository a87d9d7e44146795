"""What limits a run's accuracy: after every stage, the loss on the training points, on fresh points, and rel L2.

    train  = mean |R(x_i)|^2 over the training points,   fresh = the same over 20 000 fresh uniform points,

fresh / train >> 1 means the fit is tight at the points only (more points); rel L2 falling with
neither (flat) means the grid or the optimiser. ``--steps`` adds the loss and rel L2 after every LM
iteration. At the end, the share of the final error's energy in the lowest sine modes of the
bounding box (``sin(m pi (x - a) / L)`` products, m, n <= K; 2-D problems only): an error that sits in
the lowest modes is one the residual barely sees.

Each run: ``kp.KAN([d, 10, 1], seed=s)``, the problem as written (``hard="auto"``),
``kp.TrainConfig(interior_points=N, schedule=..., seed=s)``, 2 threads.

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/stage_diagnostics.py --problem helmholtz2d --seed 1 --points 5000 \\
        --stages a100,5:15,10:15,20:20,40:10,80:30 --steps
    (a stage ``aN`` is Adam(N); ``G:S`` is LM(S, grid=G), ``G:S:l`` with Levenberg's damping)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.train.trainer import Trainer  # noqa: E402


def stage(token: str):
    """``aN`` -> Adam(N); ``G:S`` -> LM(S, grid=G); ``G:S:l`` -> the same with Levenberg's damping."""
    if token.startswith("a"):
        return kp.Adam(int(token[1:]))
    grid, steps, *damping = token.split(":")
    return kp.LM(int(steps), grid=int(grid), scaling="levenberg" if damping == ["l"] else "marquardt")


def mean_square(trainer: Trainer, x: torch.Tensor) -> float:
    """The PDE residuals' summed mean squares at ``x``."""
    with torch.enable_grad():
        return float(sum(r.detach().pow(2).mean() for r in trainer._residuals(x)))


def error_now(trainer: Trainer) -> float:
    record = {}
    trainer.record_error(record)
    return record["rel_l2"]


def low_mode_shares(problem, model, n: int = 256, modes=(1, 2, 4)) -> dict[int, float]:
    """Share of the error's energy on an ``n x n`` midpoint grid in the sine modes m, n <= K of the
    bounding box (2-D problems with an exact solution)."""
    lo, hi = (np.asarray(b, float) for b in problem.domain.bounds)
    axes = [lo[i] + (hi[i] - lo[i]) * (np.arange(n) + 0.5) / n for i in range(2)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    x = torch.as_tensor(grid)
    with torch.no_grad():
        error = (problem.model_for_fields(model)(x) - problem.solution_values(x))[:, 0].numpy().reshape(n, n)
    K = max(modes)
    sines = [np.array([np.sin(m * np.pi * (a - lo[i]) / (hi[i] - lo[i])) for m in range(1, K + 1)])
             for i, a in enumerate(axes)]                                           # (K, n) each
    coefficients = sines[0] @ error @ sines[1].T * (2 / n) ** 2                     # (K, K)
    energy = coefficients ** 2 / 4 / max(float((error ** 2).mean()), 1e-300)
    return {k: float(energy[:k, :k].sum()) for k in modes}


def run(name: str, seed: int, points: int, stages: str, steps: bool = False, fresh: int = 20_000) -> list[dict]:
    problem = problems.load_problem(name)
    schedule = [stage(t) for t in stages.split(",")]
    model = kp.KAN([problem.input_dim, 10, len(problem.outputs)], seed=seed)
    trainer_box = []
    config = kp.TrainConfig(seed=seed, interior_points=points, schedule=schedule, verbose=False,
                            callbacks=[lambda record: steps and _log(trainer_box[0], record) or False])
    torch.manual_seed(seed)
    model.to(dtype=config.dtype)
    trainer = Trainer(problem, model, config)
    trainer_box.append(trainer)
    held_out = torch.as_tensor(problem.domain.sample_interior(fresh, method="uniform", seed=12345)).to(config.dtype)
    rows, optimizer, start = [], None, time.perf_counter()
    print(f"{'stage':>8s} {'grid':>4s} {'train':>9s} {'fresh':>9s} {'ratio':>6s} {'rel L2':>9s} {'time s':>7s}")
    for index, (token, st) in enumerate(zip(stages.split(","), schedule)):
        trainer.prepare_stage(st, first=index == 0)
        trainer.history.stages.append({"start": trainer.step, "label": st.label(), "grid": getattr(model, "grid", None)})
        optimizer = trainer.make_optimizer(st, optimizer)
        trainer.run_stage(index, st, optimizer)
        if steps and isinstance(st, kp.LM):
            mine = [r for r in trainer.history.steps if r["stage"] == index]
            print("   loss   " + " ".join(f"{r['loss']:.2e}" for r in mine))
            print("   rel L2 " + " ".join(f"{r['step_rel_l2']:.2e}" for r in mine))
        row = {"stage": token, "grid": getattr(model, "grid", None), "train": mean_square(trainer, trainer.points.interior),
               "fresh": mean_square(trainer, held_out), "rel_l2": error_now(trainer), "time_s": time.perf_counter() - start}
        rows.append(row)
        print(f"{token:>8s} {row['grid'] or 0:4d} {row['train']:9.2e} {row['fresh']:9.2e} "
              f"{row['fresh'] / row['train']:6.2f} {row['rel_l2']:9.2e} {row['time_s']:7.0f}", flush=True)
    if problem.input_dim == 2 and hasattr(problem.domain, "bounds"):
        shares = low_mode_shares(problem, model)
        print("error energy in the lowest sine modes: " + ", ".join(f"m, n <= {k}: {v:.1%}" for k, v in shares.items()))
        rows[-1]["low_modes"] = shares
    return rows


def _log(trainer: Trainer, record: dict) -> None:
    """Callback: rel L2 after every step (LM iterations)."""
    record["step_rel_l2"] = error_now(trainer)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="helmholtz2d")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--stages", default="a100,5:15,10:15,20:20,40:10,80:15")
    parser.add_argument("--steps", action="store_true", help="loss and rel L2 after every LM iteration")
    parser.add_argument("--fresh", type=int, default=20_000, help="fresh uniform points for the held-out loss")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return run(args.problem, args.seed, args.points, args.stages, args.steps, args.fresh)


if __name__ == "__main__":
    main()
