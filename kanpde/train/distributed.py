"""Data-parallel training on ``torch.distributed``: shards, global means, all-reduced gradients.

With ``W`` ranks the loss stays the single-process one,

    L = sum_terms w_t (1 / N_t) sum_{r=0}^{W-1} sum_{i in shard_r} |R_t(x_i)|^2,

because every mean divides each rank's sum of squares by the *global* count
``N_t``. Each rank samples the full, seeded point set and keeps its own contiguous
block (:func:`shard_slice`), so the union of the shards is the single-process set.
Gradients are summed over ranks after every backward pass, and every loss value
the optimiser sees is the global one, so Adam and L-BFGS (line search included)
take identical steps on every rank; parameters are broadcast from rank 0 once at
the start. Only rank 0 shows progress bars and writes files.

What a training feature must all-reduce to stay exact under data parallelism
(helpers below):

- a mean or sum over points -> :meth:`DataParallel.global_mean` / :meth:`all_reduce_sum`;
- gradients of the loss -> :meth:`all_reduce_gradients` after ``backward`` (the trainer does it);
- per-point statistics (RAD/RAR residuals) -> :meth:`gather_rows`, then the same
  seeded choice on every rank, then :meth:`shard` of the picked points;
- min/max (grid ranges) -> :meth:`reduce_range`;
- a decision that stops or branches (callbacks) -> :meth:`any`;
- Gauss-Newton / Levenberg-Marquardt normal equations ``JᵀJ``, ``Jᵀr`` ->
  :meth:`all_reduce_sum` (each rank's rows of J are its points).

The process group is either one the caller initialised (``torchrun``, Slurm, a
test), or one :func:`process_group` initialises from the ``torchrun`` environment
(``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`launch` starts
local workers itself (``kanpde solve NAME --nproc N``).
"""

from __future__ import annotations

import datetime
import os
import socket
import sys
import traceback
from typing import Callable, Iterable

import torch
import torch.distributed as dist
from torch import nn
from torch.multiprocessing.spawn import ProcessException

# A rank that dies leaves the others waiting in a collective: give up after this long instead of hanging.
COLLECTIVE_TIMEOUT = datetime.timedelta(seconds=300)

__all__ = ["DataParallel", "is_main_process", "launch", "process_group", "shard_slice"]


def shard_slice(n: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s contiguous block of ``n`` items split over ``world`` ranks (sizes differ by at most 1)."""
    return slice(n * rank // world, n * (rank + 1) // world)


def _torchrun_environment() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ


def process_group(distributed: bool | None, device: str = "cpu") -> bool:
    """Whether to train data-parallel, initialising the default group where asked.

    Args:
        distributed: ``None`` (auto): use an initialised group, or initialise one from a
            ``torchrun`` environment; ``True``: the same, but it is an error to find
            neither; ``False``: train alone even inside a group.
        device: the training device; picks NCCL for CUDA, gloo otherwise.

    Raises:
        ValueError: ``distributed=True`` with no group and no ``torchrun`` environment.
    """
    if distributed is False or not dist.is_available():
        if distributed:
            raise ValueError("TrainConfig.distributed=True, but this torch build has no torch.distributed")
        return False
    if not dist.is_initialized():
        if not _torchrun_environment():
            if distributed:
                raise ValueError("TrainConfig.distributed=True needs an initialised torch.distributed process "
                                 "group or a torchrun launch (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set); "
                                 "use `torchrun --nproc-per-node N ...` or `kanpde solve NAME --nproc N`")
            return False
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return dist.get_world_size() > 1 or bool(distributed)


def is_main_process() -> bool:
    """True outside a process group and on its rank 0: the process that writes files."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class DataParallel:
    """The trainer's view of the process group; with ``world == 1`` every method is a no-op.

    Args:
        enabled: train data-parallel over the default process group (see :func:`process_group`).
        device: where this rank's tensors live (NCCL reduces CUDA tensors only).
    """

    def __init__(self, enabled: bool = False, device: str | torch.device = "cpu"):
        self.enabled, self.device = enabled, torch.device(device)
        self.rank = dist.get_rank() if enabled else 0
        self.world = dist.get_world_size() if enabled else 1

    @classmethod
    def from_config(cls, config) -> "DataParallel":
        return cls(process_group(getattr(config, "distributed", None), config.device), config.device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- points ---------------------------------------------------------------------------------------

    def shard(self, rows):
        """This rank's block of the rows of a tensor (or of every tensor field of a dataclass such
        as ``ConditionPoints``/``TrainingPoints``, lists included); None stays None."""
        if not self.enabled or rows is None:
            return rows
        if isinstance(rows, torch.Tensor):
            return rows[shard_slice(len(rows), self.rank, self.world)]
        if isinstance(rows, list):
            return [self.shard(r) for r in rows]
        return type(rows)(**{k: self.shard(v) for k, v in vars(rows).items()})

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Every rank's block of rows, concatenated in rank order (the inverse of :meth:`shard`)."""
        if not self.enabled:
            return rows
        counts = torch.zeros(self.world, dtype=torch.long, device=rows.device)
        counts[self.rank] = len(rows)
        dist.all_reduce(counts)
        width = max(int(counts.max()), 1)
        padded = rows.new_zeros((width, *rows.shape[1:]))               # gather needs equal sizes
        padded[:len(rows)] = rows
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([p[:int(c)] for p, c in zip(parts, counts)])

    # -- reductions -----------------------------------------------------------------------------------

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The elementwise sum over ranks (in place, detached), e.g. ``JᵀJ`` and ``Jᵀr`` of an LM stage."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def global_mean(self, values: torch.Tensor) -> torch.Tensor:
        """``mean`` over every rank's elements.

        The value is the global mean on every rank; the gradient is this rank's share
        ``sum(values) / N_global``, so that :meth:`all_reduce_gradients` makes it the
        gradient of the global mean. With one process it is ``values.mean()``.
        """
        if not self.enabled:
            return values.mean()
        local_sum = values.sum()
        packed = torch.stack([local_sum.detach(), torch.tensor(float(values.numel())).to(local_sum)])
        sums, count = self.all_reduce_sum(packed)                       # global sum, global count
        share = local_sum / count
        return sums / count + (share - share.detach())  # exactly the global value (+ 0), this rank's gradient

    def all_reduce_gradients(self, parameters: Iterable[torch.Tensor]) -> None:
        """Sum the ``.grad`` of every parameter over ranks, in one flat all-reduce."""
        if not self.enabled:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = self.all_reduce_sum(torch.cat([g.reshape(-1) for g in grads]))   # (P,)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def reduce_range(self, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All ranks' elementwise min of ``lo`` and max of ``hi`` (grid ranges)."""
        if not self.enabled:
            return lo, hi
        lo, hi = lo.clone(), hi.clone()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        return lo, hi

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on some rank (stop decisions must agree)."""
        if not self.enabled:
            return bool(flag)
        value = torch.tensor([float(bool(flag))], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def broadcast(self, tensors: Iterable[torch.Tensor]) -> None:
        """Copy rank 0's values of these tensors to every rank (in place)."""
        if self.enabled:
            with torch.no_grad():
                for t in tensors:
                    dist.broadcast(t.data, src=0)

    def broadcast_module(self, module: nn.Module, extra: Iterable[torch.Tensor] = ()) -> None:
        """Start every rank from rank 0's parameters and buffers (grid ranges included)."""
        self.broadcast([*module.state_dict().values(), *extra])


# ---------------------------------------------------------------------------------- local launch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, threads: int, results, fn: Callable, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=COLLECTIVE_TIMEOUT)
    try:
        value = fn(*args)
        if rank == 0:
            results.put(("ok", value))
    except BaseException as exc:
        results.put(("error", type(exc).__name__, str(exc), traceback.format_exc()))
        raise
    finally:
        dist.destroy_process_group()


def launch(fn: Callable, nproc: int, *args, threads: int | None = None, start_method: str | None = None):
    """Run ``fn(*args)`` in ``nproc`` local processes joined in a gloo process group.

    Each worker gets ``RANK``/``WORLD_SIZE`` set and ``torch.set_num_threads(threads)``
    (default: the cores shared out). ``fn`` must be importable (a module-level function).
    ``start_method`` (default): ``"fork"`` when each worker runs one thread on Linux
    (no re-import of torch, seconds saved per worker; one thread never enters the
    parent's OpenMP pool, which is not fork-safe), else ``"spawn"``.

    Returns:
        What ``fn`` returned on rank 0.

    Raises:
        ValueError: ``nproc`` is not a positive int.
        ValueError, TypeError, FileNotFoundError: raised again as the worker raised them;
        RuntimeError: any other failure in a worker (with its traceback).
    """
    import torch.multiprocessing as mp

    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive int (number of local processes), got {nproc!r}")
    threads = threads or max(1, (os.cpu_count() or 1) // nproc)
    if start_method is None:
        start_method = "fork" if threads == 1 and sys.platform.startswith("linux") else "spawn"
    results = mp.get_context(start_method).SimpleQueue()
    items = []
    try:
        context = mp.start_processes(_worker, args=(nproc, _free_port(), threads, results, fn, args), nprocs=nproc,
                                     join=False, start_method=start_method)
        while not context.join(timeout=0.05):  # read while waiting: a result larger than a pipe's buffer
            _drain(results, items)             # blocks its worker until it is read
    except ProcessException as exc:
        _drain(results, items)
        failure = next((item for item in items if item[0] == "error"), None)
        if failure is not None:
            kind = {"ValueError": ValueError, "TypeError": TypeError,
                    "FileNotFoundError": FileNotFoundError}.get(failure[1])
            if kind is not None:
                raise kind(failure[2]) from None
        raise RuntimeError(f"a worker failed:\n{exc}") from None
    _drain(results, items)
    return next((item[1] for item in items if item[0] == "ok"), None)


def _drain(queue, items: list) -> None:
    while not queue.empty():
        items.append(queue.get())
