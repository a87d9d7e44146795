"""Time one jet training step of this checkout against another git revision, in one process.

A step is what ``scripts/bench_derivatives.py`` times for the jet: the Laplacian residual of
a KAN [2, 10, 1] at N points from ``model.jet``, loss = mean(residual^2), backward. The
baseline revision's ``kanpde`` is extracted with ``git archive`` into a temporary folder
and imported as a second package; both models get the same weights, and the two versions
alternate step by step so that a shared machine's load hits both alike. Prints min and
median milliseconds of each, their ratios, the page faults per step (fresh memory touched;
``resource.getrusage``) and how far apart their losses and gradients are.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_jet_ab.py --baseline REV [--points 10000] [--grid 20]
       [--threads 2] [--repeats 40] [--dtype float64]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import kanpde  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load_revision(rev: str, folder: Path):
    """``kanpde`` as of git revision ``rev``, imported as the package ``kanpde_baseline``."""
    archive = subprocess.run(["git", "archive", rev, "kanpde"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / "kanpde"
    spec = importlib.util.spec_from_file_location("kanpde_baseline", package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["kanpde_baseline"] = module  # the package's relative imports resolve under this name
    spec.loader.exec_module(module)
    return module


def step(model, x) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    loss = model.jet(x).second[:, 0].sum(-1).pow(2).mean()
    loss.backward()
    return loss.detach()


def gradients(model) -> torch.Tensor:
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in model.parameters()])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against, e.g. a commit hash")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as folder:
        baseline = load_revision(args.baseline, Path(folder))
        x = torch.rand(args.points, 2, dtype=dtype) * 2 - 1
        models = {"this checkout": kanpde.KAN([2, 10, 1], grid=args.grid, k=3, seed=0).to(dtype)}
        models[f"baseline {args.baseline}"] = baseline.KAN([2, 10, 1], grid=args.grid, k=3, seed=0).to(dtype)
        new, old = models.values()
        old.load_state_dict(new.state_dict())
        losses = [step(m, x) for m in (new, old)]
        grads = [gradients(m) for m in (new, old)]
        loss_gap = ((losses[0] - losses[1]).abs() / losses[1].abs()).item()
        grad_gap = ((grads[0] - grads[1]).abs().max() / grads[1].abs().max()).item()
        times = {name: [] for name in models}
        faults = dict.fromkeys(models, 0)
        for r in range(args.repeats + 1):
            order = list(models.items()) if r % 2 else list(models.items())[::-1]
            for name, model in order:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                step(model, x)
                if r:  # the first round warms caches
                    times[name].append(time.perf_counter() - start)
                    faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(f"one jet training step, Laplacian residual, KAN [2, 10, 1], N={args.points}, grid={args.grid}, "
          f"{args.dtype}, {args.threads} threads, {args.repeats} interleaved repeats")
    stats = {}
    width = max(map(len, times))
    for name, ts in times.items():
        ts = sorted(ts)
        stats[name] = (ts[0], ts[len(ts) // 2])
        print(f"  {name:<{width}s}  min {ts[0] * 1e3:8.2f} ms   median {ts[len(ts) // 2] * 1e3:8.2f} ms   "
              f"page faults per step {faults[name] / len(ts):7.0f}")
    (new_min, new_median), (old_min, old_median) = stats.values()
    print(f"  this / baseline: {new_min / old_min:.2f} (min), {new_median / old_median:.2f} (median)")
    print(f"  relative difference: loss {loss_gap:.1e}, parameter gradients {grad_gap:.1e}")
    return stats


if __name__ == "__main__":
    main()
