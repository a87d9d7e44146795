"""Time one PINN training step, jet path vs nested autograd, side by side.

A step is: residual = Laplacian of the network at N points, loss = mean(residual^2),
backward. Compared in one run (machines are noisy, so read the ratios):

- KAN [2, 10, 1], grid 20, Laplacian from the analytic jet forward, each layer in the fused C
  kernel (``kanpde.nn.native``, built on first use where a C compiler is present);
- the same jet on PyTorch's kernels (``native.disabled()``, what runs without a compiler);
- the same KAN, Laplacian by nested autograd;
- the same KAN computed the way the reference implementation (pykan) does it: the
  classical dense Cox-de Boor recursion over the extended grid (pykan's ``B_batch``),
  Laplacian by nested autograd -- what a pykan user pays;
- an MLP [2, 64, 64, 1] (tanh), Laplacian by nested autograd.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_derivatives.py [--points 10000] [--threads 2] [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from kanpde import KAN, MLP  # noqa: E402
from kanpde.nn import native  # noqa: E402


def laplacian_autograd(model, x):
    x = x.detach().requires_grad_(True)
    u = model(x)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return sum(torch.autograd.grad(grad[:, a].sum(), x, create_graph=True)[0][:, a] for a in range(x.shape[1]))


def laplacian_jet(model, x):
    return model.jet(x).second[:, 0].sum(-1)


def cox_de_boor(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-splines of degree k at x by the Cox-de Boor recursion, as pykan's ``B_batch``.

    Args:
        x: ``(N, in)``; knots: ``(in, G + 1 + 2k)`` extended grid.

    Returns:
        ``(N, in, G + k)``, dense (zeros included).
    """
    x, t = x.unsqueeze(2), knots.unsqueeze(0)                           # (N, in, 1), (1, in, M)
    basis = ((x >= t[:, :, :-1]) & (x < t[:, :, 1:])).to(x.dtype)       # degree 0: cell indicators
    for d in range(1, k + 1):
        left = (x - t[:, :, :-(d + 1)]) / (t[:, :, d:-1] - t[:, :, :-(d + 1)])
        right = (t[:, :, d + 1:] - x) / (t[:, :, d + 1:] - t[:, :, 1:-d])
        basis = left * basis[:, :, :-1] + right * basis[:, :, 1:]
    return basis


class CoxDeBoorKAN(nn.Module):
    """The same network as a :class:`KAN` (weights copied), evaluated pykan-style.

    Matches the KAN inside every layer's grid range (pykan has no linear continuation).
    """

    def __init__(self, kan: KAN):
        super().__init__()
        self.k = kan.k
        self.layers = nn.ModuleList()
        for layer in kan.layers:
            ref = nn.Module()
            h = (layer.hi - layer.lo) / layer.grid
            steps = torch.arange(-layer.k, layer.grid + layer.k + 1, dtype=h.dtype)
            ref.register_buffer("knots", layer.lo[:, None] + steps * h[:, None])  # (in, G + 1 + 2k)
            for name in ("coef", "scale_base", "scale_spline", "bias"):
                setattr(ref, name, nn.Parameter(getattr(layer, name).detach().clone()))
            self.layers.append(ref)

    def forward(self, x):
        for layer in self.layers:
            spline = torch.einsum("nig,iog->nio", cox_de_boor(x, layer.knots, self.k), layer.coef)
            phi = layer.scale_base * nn.functional.silu(x)[:, :, None] + layer.scale_spline * spline
            x = phi.sum(1) + layer.bias                                 # (N, out)
        return x


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
    reference = CoxDeBoorKAN(kan)
    mismatch = (reference(x) - kan(x)).abs().max().item()               # same network, two algorithms
    mlp = MLP([2, 64, 64, 1], activation="tanh", seed=0).to(dtype)
    with native.disabled():
        torch_jet = step_time(kan, laplacian_jet, x, args.repeats)
    rows = {
        "KAN jet" + ("" if native.available() else " (no C compiler: PyTorch kernels)"): step_time(
            kan, laplacian_jet, x, args.repeats),
        "KAN jet, PyTorch kernels": torch_jet,
        "KAN nested autograd": step_time(kan, laplacian_autograd, x, args.repeats),
        "KAN, Cox-de Boor recursion (pykan-style) + nested autograd": step_time(
            reference, laplacian_autograd, x, args.repeats),
        "MLP [2,64,64,1] autograd": step_time(mlp, laplacian_autograd, x, args.repeats),
    }
    print(f"one training step, Laplacian residual, N={args.points}, grid={args.grid}, "
          f"{args.dtype}, {args.threads} threads")
    base = next(iter(rows.values()))
    width = max(map(len, rows))
    for name, t in rows.items():
        print(f"  {name:<{width}s} {t * 1e3:9.2f} ms   {t / base:7.2f} x jet")
    print(f"  speed-up of jet over nested autograd on the same KAN: {rows['KAN nested autograd'] / base:.1f}x")
    print(f"  (Cox-de Boor network vs KAN: max |output difference| {mismatch:.1e})")
    return rows


if __name__ == "__main__":
    main()
