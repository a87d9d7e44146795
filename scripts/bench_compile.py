"""Is ``torch.compile`` a way to a faster jet? One training step three ways, in one run.

A step is the Laplacian residual of a KAN [2, 10, 1] at N points, loss = mean(residual^2),
backward (as in ``scripts/bench_derivatives.py``):

- the jet with each layer in the fused C kernel (``kanpde.nn.native``);
- the same jet on PyTorch's kernels (``native.disabled()``);
- a functional form of the layer jet (cell lookup by indexing, Taylor shift, SiLU branch,
  chain rule; plain differentiable torch ops) compiled with ``torch.compile``, backward by
  AOTAutograd. Prints the compile time and checks that loss and gradients agree.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_compile.py [--points 10000] [--grid 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_derivatives

from bench_derivatives import laplacian_jet, step_time  # noqa: E402
from kanpde import KAN  # noqa: E402
from kanpde.nn import native  # noqa: E402
from kanpde.nn.splines import derivative_table  # noqa: E402


def layer_jet(x, dx, d2x, layer):
    """Value, gradient and pure second derivatives of one layer, points first: x ``(N, in)``,
    dx and d2x ``(N, in, D)`` or None for the network inputs."""
    k, grid = layer.k, layer.grid
    table = derivative_table(layer.coef * layer.scale_spline.unsqueeze(-1), layer.lo, layer.hi, grid, k)
    h = (layer.hi - layer.lo) / grid
    s = (x - layer.lo) / h
    s_in = s.clamp(0.0, float(grid))
    cell = s_in.floor().clamp(max=grid - 1)
    v, beyond = (s_in - cell) * h, (s - s_in) * h                       # (N, in)
    columns = cell.long() + torch.arange(x.shape[1]) * grid             # (N, in)
    e = table[:, columns].view(k + 1, layer.out_dim, *columns.shape)    # (k+1, out, N, in)
    s2 = (e[2] + v * e[3]) * (beyond == 0)
    s1 = e[1] + v * (e[2] + v * e[3] / 2)
    s0 = e[0] + v * (e[1] + v * (e[2] / 2 + v * e[3] / 6)) + s1 * beyond
    sig = torch.sigmoid(x)
    base = [x * sig, sig * (1 + x * (1 - sig)), sig * (1 - sig) * (2 + x * (1 - 2 * sig))]
    w = layer.scale_base.T.unsqueeze(1)                                # (out, 1, in)
    p0, p1, p2 = s0 + w * base[0], s1 + w * base[1], s2 + w * base[2]  # (out, N, in)
    y = p0.sum(-1).T + layer.bias                                       # (N, out)
    if dx is None:
        return y, p1.permute(1, 0, 2), p2.permute(1, 0, 2)              # (N, out, D = in)
    dy = torch.einsum("oni,nia->noa", p1, dx)
    d2y = torch.einsum("oni,nia->noa", p2, dx * dx) + torch.einsum("oni,nia->noa", p1, d2x)
    return y, dy, d2y


def functional_laplacian(model, x):
    """The Laplacian of the network's only output, ``(N,)``, through :func:`layer_jet`."""
    y, dy, d2y = x, None, None
    for layer in model.layers:
        y, dy, d2y = layer_jet(y, dy, d2y, layer)
    return d2y[:, 0].sum(-1)


def loss_and_gradients(model, laplacian, x):
    """The step's loss and parameter gradients (zeros where a parameter gets none)."""
    model.zero_grad(set_to_none=True)
    loss = laplacian(model, x).pow(2).mean()
    loss.backward()
    return loss.detach(), [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = KAN([2, 10, 1], grid=args.grid, seed=0).double()
    x = torch.rand(args.points, 2, dtype=torch.float64) * 2 - 1
    compiled = torch.compile(functional_laplacian)
    start = time.perf_counter()
    loss_c, grads_c = loss_and_gradients(model, compiled, x)
    compile_s = time.perf_counter() - start
    loss_j, grads_j = loss_and_gradients(model, laplacian_jet, x)
    difference = max([(loss_c - loss_j).abs().item()] + [(a - b).abs().max().item() for a, b in zip(grads_c, grads_j)])
    if not native.available():
        print("(no C compiler: the first row runs on PyTorch's kernels too)")
    rows = {"KAN jet, fused C kernel": step_time(model, laplacian_jet, x, args.repeats) * 1e3}
    with native.disabled():
        rows["KAN jet, PyTorch kernels"] = step_time(model, laplacian_jet, x, args.repeats) * 1e3
    rows["functional layer jet, torch.compile"] = step_time(model, compiled, x, args.repeats) * 1e3
    print(f"one training step, Laplacian residual, KAN [2, 10, 1], N={args.points}, grid={args.grid}, float64, "
          f"{args.threads} threads (median of {args.repeats})")
    base = rows["KAN jet, fused C kernel"]
    for name, ms in rows.items():
        print(f"  {name:<38s} {ms:9.2f} ms  {ms / base:6.2f} x")
    print(f"  torch.compile: first call (compile) {compile_s:.1f} s; max |difference| to the jet {difference:.1e}")
    return {**rows, "compile_s": compile_s, "difference": difference}


if __name__ == "__main__":
    main()
