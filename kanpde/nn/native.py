"""The fused C kernel of a KAN layer's jet (``jet_kernel.c``), built on first use.

PyTorch evaluates a layer's jet as some forty passes over ``(out, in, N)`` arrays, each
with its own dispatch and thread wake-up; the kernel makes one pass over the points with
every intermediate in registers, and recomputes the edge derivatives in the backward
instead of storing them. It is compiled with the system C compiler (``$CC``, else ``cc``)
and OpenMP into a per-user cache (``$KANPDE_CACHE``, else ``~/.cache/kanpde``), keyed by
the source's hash; without a compiler, or with ``KANPDE_NATIVE=0``, :func:`available` is
False and :class:`kanpde.nn.kan.KANLayer` keeps its PyTorch path, which computes the same
numbers (the tests compare the two).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

from .scratch import recycled, scratch

SOURCE = Path(__file__).with_name("jet_kernel.c")
MAX_DEGREE = 7          # MAX_K1 - 1 in the kernel
MAX_PAIRS = 16          # MAX_P in the kernel
LANES = 4               # copies of the table gradient per thread (LANES in the kernel)
_TYPES = {torch.float64: "f64", torch.float32: "f32"}  # the kernel's function suffixes
_lock = threading.Lock()
_library = None         # None: not tried yet; False: unavailable
_disabled = 0           # depth of disabled() blocks


class _Shape(ctypes.Structure):
    _fields_ = [(name, ctypes.c_long) for name in ("n_in", "n_out", "n", "grid", "k1", "d", "p", "order")]


def _flags() -> tuple[str, ...]:
    """Optimise for the vector units PyTorch found on this CPU (AVX2 and FMA where present). The flags
    are part of the cache key, so a cache shared by different CPUs keeps one build per kind."""
    vector = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") and platform.machine() in ("x86_64", "AMD64")
    return ("-O3", "-mavx2", "-mfma") if vector else ("-O3",)


def _cache_dir() -> Path:
    return Path(os.environ.get("KANPDE_CACHE") or Path.home() / ".cache" / "kanpde")


def _build() -> ctypes.CDLL | None:
    """Compile the kernel (both precisions) into a shared library in the cache, atomically, so that
    processes building at once do not clash; returns it loaded, or None without a compiler."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    text, flags = SOURCE.read_text(), _flags()
    digest = hashlib.sha256(" ".join([text, compiler, *flags]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"jet_kernel-{digest}.so"
    if not target.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:                                   # read-only home: a private temporary cache
            target = Path(tempfile.gettempdir()) / f"kanpde-{os.getuid()}" / target.name
            target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        with tempfile.TemporaryDirectory(dir=target.parent) as work:
            built = Path(work) / "kernel.so"
            subprocess.run([compiler, *flags, "-fPIC", "-fopenmp", "-shared", "-std=c99", str(SOURCE), "-o", str(built)],
                           check=True, capture_output=True, timeout=300)
            os.replace(built, target)
    return ctypes.CDLL(str(target))


def available() -> bool:
    """True when the kernel is built and loaded (it is built on the first call)."""
    global _library
    if _library is None:
        with _lock:
            if _library is None:
                try:
                    _library = False if os.environ.get("KANPDE_NATIVE", "1") == "0" else (_build() or False)
                except (OSError, subprocess.SubprocessError):
                    _library = False
    return _library is not False


@contextlib.contextmanager
def disabled():
    """Within the block, layer jets take the PyTorch path (to compare the two, or to rule the kernel out)."""
    global _disabled
    _disabled += 1
    try:
        yield
    finally:
        _disabled -= 1


def usable(x: torch.Tensor, k: int, pairs=()) -> bool:
    """Whether the kernel serves a layer jet on ``x``: CPU, float32/float64, degree <= 7, at most 16
    second-derivative pairs, not traced by ``torch.compile``."""
    return (not _disabled and x.device.type == "cpu" and x.dtype in _TYPES and k <= MAX_DEGREE and len(pairs) <= MAX_PAIRS
            and not torch.compiler.is_compiling() and available())


def _pointer(t: torch.Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(None if t is None else t.data_ptr())


def _function(name: str, dtype: torch.dtype):
    return getattr(_library, f"{name}_{_TYPES[dtype]}")


def _shape(x, table, dx, pairs, grid, order) -> _Shape:
    n_in, n = x.shape
    n_out, k1 = table.shape[2], table.shape[3]
    return _Shape(n_in, n_out, n, grid, k1, n_in if dx is None else dx.shape[0], len(pairs) if order >= 2 else 0,
                  order)


@functools.lru_cache(maxsize=64)
def _pairs(pairs, order) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs' first and second indices as int64 arrays (pairs is a tuple of tuples)."""
    pairs = pairs if order >= 2 else ()
    return (torch.tensor([a for a, _ in pairs], dtype=torch.long),
            torch.tensor([b for _, b in pairs], dtype=torch.long))


def layer_jet_forward(x, sig, dx, d2x, table, scale_base, bias, lo, hi, grid: int, pairs, order: int):
    """``(y (out, N), dy (D, out, N), d2y (P, out, N))`` of a layer, as :class:`kanpde.nn.kan._LayerJet`.

    Args:
        x: ``(in, N)``; sig: ``(in, N)``, sigmoid(x);
            dx ``(D, in, N)`` or None (identity); d2x ``(P, in, N)``, or None (network inputs, or order 1).
        table: ``(in, G, out, k + 1)`` derivative table; the other tensors as the layer's.
    """
    sh = _shape(x, table, dx, pairs, grid, order)
    y = recycled((sh.n_out, sh.n), x, "native_y")
    dy = recycled((sh.d, sh.n_out, sh.n), x, "native_dy")
    d2y = recycled((sh.p, sh.n_out, sh.n), x, "native_d2y")
    pa, pb = _pairs(pairs, order)
    _function("layer_jet_forward", x.dtype)(
        sh, *map(_pointer, (x, sig, dx, d2x, table, scale_base, bias, lo, hi, pa, pb,
                            y, dy, d2y)), ctypes.c_int(torch.get_num_threads()))
    return y, dy, d2y


def layer_jet_backward(x, sig, dx, d2x, table, scale_base, lo, hi, grid: int, pairs, order: int,
                       gy, gdy, gd2y, need: tuple[bool, ...]):
    """Gradients ``(x, dx, d2x, table (in, G, out, k + 1), scale_base)`` of a layer jet; None where not needed.

    Args:
        gy, gdy, gd2y: incoming gradients (None: zero), contiguous.
        need: whether x, dx, d2x, table, scale_base need a gradient.
    """
    sh = _shape(x, table, dx, pairs, grid, order)
    threads = torch.get_num_threads()
    grad_x = recycled(x.shape, x, "native_grad_x") if need[0] else None
    grad_dx = recycled(dx.shape, x, "native_grad_dx") if need[1] and dx is not None else None
    grad_d2x = recycled(d2x.shape, x, "native_grad_d2x") if need[2] and d2x is not None else None
    partial_table = scratch((threads * LANES, *table.shape), x).zero_() if need[3] else None
    partial_base = scratch((threads, *scale_base.shape), x, slot=1).zero_() if need[4] else None
    pa, pb = _pairs(pairs, order)
    _function("layer_jet_backward", x.dtype)(
        sh, *map(_pointer, (x, sig, dx, d2x, table, scale_base, lo, hi, pa, pb,
                            gy, gdy, gd2y, grad_x, grad_dx, grad_d2x,
                            partial_table, partial_base)), ctypes.c_int(threads))
    return (grad_x, grad_dx, grad_d2x, None if partial_table is None else partial_table.sum(0),
            None if partial_base is None else partial_base.sum(0))
