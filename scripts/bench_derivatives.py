"""Time one PINN training step, jet path vs nested autograd, side by side.

A step is: residual = Laplacian of the network at N points, loss = mean(residual^2),
backward. Compared in one run (machines are noisy, so read the ratios):

- KAN [2, 10, 1], grid 20, Laplacian from the analytic jet forward;
- the same KAN, Laplacian by nested autograd;
- an MLP [2, 64, 64, 1] (tanh), Laplacian by nested autograd.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_derivatives.py [--points 10000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from kanpde import KAN, MLP  # noqa: E402


def laplacian_autograd(model, x):
    x = x.detach().requires_grad_(True)
    u = model(x)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return sum(torch.autograd.grad(grad[:, a].sum(), x, create_graph=True)[0][:, a] for a in range(x.shape[1]))


def laplacian_jet(model, x):
    return model.jet(x).second[:, 0].sum(-1)


def step_time(model, laplacian, x, repeats: int) -> float:
    """Median seconds of forward + residual + backward."""
    times = []
    for _ in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss = laplacian(model, x).pow(2).mean()
        loss.backward()
        times.append(time.perf_counter() - start)
    times = sorted(times[1:])  # first call warms caches
    return times[len(times) // 2]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    x = (torch.rand(args.points, 2, dtype=dtype) * 2 - 1)
    kan = KAN([2, 10, 1], grid=args.grid, k=3, seed=0).to(dtype)
    mlp = MLP([2, 64, 64, 1], activation="tanh", seed=0).to(dtype)
    rows = {
        "KAN jet": step_time(kan, laplacian_jet, x, args.repeats),
        "KAN nested autograd": step_time(kan, laplacian_autograd, x, args.repeats),
        "MLP [2,64,64,1] autograd": step_time(mlp, laplacian_autograd, x, args.repeats),
    }
    print(f"one training step, Laplacian residual, N={args.points}, grid={args.grid}, "
          f"{args.dtype}, {args.threads} threads")
    base = rows["KAN jet"]
    for name, t in rows.items():
        print(f"  {name:<26s} {t * 1e3:9.2f} ms   {t / base:7.2f} x jet")
    print(f"  speed-up of jet over nested autograd on the same KAN: {rows['KAN nested autograd'] / base:.1f}x")
    return rows


if __name__ == "__main__":
    main()
