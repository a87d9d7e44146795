"""What every kanpde model shares: widths, the input check and seeded initialisation."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class Network(nn.Module):
    """Base of :class:`kanpde.KAN` and :class:`kanpde.MLP`: a map ``(N, widths[0]) -> (N, widths[-1])``."""

    widths: list[int]

    @property
    def in_dim(self) -> int:
        return self.widths[0]

    @property
    def out_dim(self) -> int:
        return self.widths[-1]

    def check_input(self, x: torch.Tensor) -> None:
        """Raise TypeError/ValueError unless x is a ``(N, in_dim)`` tensor."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of shape (N, {self.in_dim}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected input of shape (N, {self.in_dim}), got {tuple(x.shape)}")


@contextlib.contextmanager
def seeded(seed: int | None):
    """Draw from torch's generator seeded with ``seed`` without disturbing the global stream (no-op for None)."""
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield
