"""Reused scratch memory for the temporaries of the fused jet kernels (CPU).

    cost of a fresh tensor  =  arithmetic  +  one page fault per 4 kB touched,

because glibc hands large freed blocks back to the operating system and the next
training step faults them in again. On a busy or virtual machine those faults cost
more than the jet's arithmetic. So the temporaries that never leave a kernel (the
gathered cell polynomials, their gradients) live in one buffer per thread, slot and
dtype, grown on demand and reused by every later call (:func:`scratch`), and the
tensors that do leave it (outputs, saved tensors, gradients) come from small pools
whose buffers are handed out again only once nothing references them
(:func:`recycled`). Both keep their memory for the thread's life (a few times the
step's working set, capped per buffer); other devices have caching allocators of
their own and get fresh tensors.
"""

from __future__ import annotations

import math
import threading

import torch

LIMIT_BYTES = 64 * 2 ** 20  # larger requests get fresh memory, so the kept buffers stay small
_buffers = threading.local()


def scratch(shape: tuple[int, ...], like: torch.Tensor, slot: int = 0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` (dtype and device of ``like``) in reused memory.

    The memory is handed out again by the next request for the same slot and dtype in
    this thread, so the result must not outlive the calling kernel: never return, save
    or keep a view of it.

    Args:
        shape: the tensor's shape.
        like: supplies dtype and device.
        slot: independent buffers for temporaries that are alive at the same time.
        dtype: overrides ``like``'s dtype.

    Returns:
        a contiguous tensor whose contents are undefined.
    """
    dtype = dtype or like.dtype
    numel = math.prod(shape)
    if (like.device.type != "cpu" or numel * dtype.itemsize > LIMIT_BYTES
            or torch.compiler.is_compiling()):  # a traced buffer must not be cached
        return like.new_empty(shape, dtype=dtype)
    kept = _buffers.__dict__.setdefault("kept", {})
    key = (slot, dtype)
    buffer = kept.get(key)
    if buffer is None or buffer.numel() < numel:
        with torch.inference_mode(False):  # an inference tensor could not be written outside inference mode
            buffer = kept[key] = torch.empty(numel, dtype=dtype)
    return buffer[:numel].view(shape)


POOL_BYTES = 16 * 2 ** 20  # larger tensors are not pooled
POOL_SIZE = 4              # buffers kept per key and dtype (per thread)
_use_count = getattr(torch._C, "_storage_Use_Count", None)


def recycled(shape: tuple[int, ...], like: torch.Tensor, key: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` that may leave the kernel (an output, a saved
    tensor, a gradient), in memory reused once nothing references it any more.

    A pooled buffer is handed out again only when its storage has no other user (its
    storage use count, which every view, saved tensor and returned output raises), so
    results the caller keeps are never overwritten. Falls back to fresh memory off the
    CPU, while compiling, for large tensors and when the pool of ``key`` is busy.

    Args:
        shape: the tensor's shape.
        like: supplies dtype and device.
        key: the call site (buffers of one site have similar sizes).
        dtype: overrides ``like``'s dtype.

    Returns:
        a contiguous tensor whose contents are undefined.
    """
    dtype = dtype or like.dtype
    numel = math.prod(shape)
    if (_use_count is None or like.device.type != "cpu" or numel * dtype.itemsize > POOL_BYTES
            or torch.compiler.is_compiling()):
        return like.new_empty(shape, dtype=dtype)
    pool = _buffers.__dict__.setdefault("pool", {}).setdefault((key, dtype), [])
    free = [n for n, buffer in enumerate(pool) if _unused(buffer)]
    for n in free:
        if pool[n].numel() >= numel:
            return _alias(pool[n], shape)
    if not free and len(pool) >= POOL_SIZE:
        return like.new_empty(shape, dtype=dtype)
    with torch.inference_mode(False):
        buffer = torch.empty(numel, dtype=dtype)
    if free:
        pool[free[0]] = buffer                            # too small: replaced
    else:
        pool.append(buffer)
    return _alias(buffer, shape)


def _alias(buffer: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A contiguous tensor of ``shape`` on the buffer's memory that is not a view of it, so
    autograd lets callers modify the outputs made in it in place."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    return buffer.new_empty(0).set_(buffer.untyped_storage(), 0, shape, strides)


def _unused(buffer: torch.Tensor) -> bool:
    """Only the pool holds the buffer's storage (2: the pool's tensor and the storage object asked)."""
    return _use_count(buffer.untyped_storage()._cdata) <= 2
