"""GPU check: train on CUDA and time the jet path against nested autograd there.

Solves the Poisson benchmark (hard Dirichlet, default config) with device="cuda",
reports its errors and time, checks the prediction equals the CPU evaluation of the
same trained weights, and times one training step (Laplacian residual + backward)
for the jet path, nested autograd on the same KAN and an MLP at several batch sizes.

Usage: python scripts/gpu_check.py [--out results/gpu_check.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402

PI = math.pi


def exact(x):
    return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])


def poisson() -> kp.Problem:
    return kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian() + 2 * PI ** 2 * exact(x),
                      [kp.Dirichlet(0.0, hard=True)], exact=exact, name="poisson2d")


def solve_on_cuda() -> dict:
    problem = poisson()
    start = time.perf_counter()
    solution = kp.solve(problem, kp.KAN([2, 10, 1], seed=0), kp.TrainConfig(device="cuda", verbose=False))
    elapsed = time.perf_counter() - start
    x = torch.rand(1000, 2, dtype=torch.float64) * 2 - 1
    on_gpu = solution.predict(x.cuda()).cpu()
    cpu_model = kp.Solution(problem, solution.network.cpu())
    on_cpu = cpu_model.predict(x)
    return {"time_s": elapsed, **cpu_model.errors(), "gpu_vs_cpu_max_diff": float((on_gpu - on_cpu).abs().max())}


def laplacian_jet(model, x):
    return model.jet(x).second[:, 0].sum(-1)


def laplacian_autograd(model, x):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    return sum(torch.autograd.grad(g[:, a].sum(), x, create_graph=True)[0][:, a] for a in range(x.shape[1]))


def step_time(model, laplacian, x, repeats: int = 10) -> float:
    for _ in range(3):
        laplacian(model, x).pow(2).mean().backward()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        laplacian(model, x).pow(2).mean().backward()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def speed() -> list[dict]:
    rows = []
    for dtype in (torch.float32, torch.float64):
        for n in (10_000, 100_000, 1_000_000):
            x = (torch.rand(n, 2, device="cuda", dtype=dtype) * 2 - 1)
            kan = kp.KAN([2, 10, 1], grid=20, seed=0).to("cuda", dtype)
            mlp = kp.MLP([2, 64, 64, 1], seed=0).to("cuda", dtype)
            jet = step_time(kan, laplacian_jet, x)
            nested = step_time(kan, laplacian_autograd, x)
            mlp_t = step_time(mlp, laplacian_autograd, x)
            rows.append({"dtype": str(dtype), "points": n, "jet_ms": jet * 1e3, "kan_autograd_ms": nested * 1e3,
                         "mlp_autograd_ms": mlp_t * 1e3, "autograd_over_jet": nested / jet})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/gpu_check.json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "speed": speed()}
    report["poisson_cuda"] = solve_on_cuda()
    print(json.dumps(report["poisson_cuda"]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
