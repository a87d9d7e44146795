"""What every kanpde model shares: widths, the input check and seeded initialisation.

Reproducibility rule: a model built with ``seed=`` keeps that initialisation. A model built
without one draws from torch's global generator, so :func:`kanpde.solve` re-draws it under
``TrainConfig.seed`` (:meth:`Network.adopt_seed`) as long as it is still exactly as built
(not trained, loaded or edited; a dtype change is fine). So the config seed alone fixes the
whole run.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class Network(nn.Module):
    """Base of :class:`kanpde.KAN` and :class:`kanpde.MLP`: a map ``(N, widths[0]) -> (N, widths[-1])``."""

    widths: list[int]
    seed: int | None = None

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

    def _initialised(self, cls: type, seed: int | None, arguments: dict) -> None:
        """Call last in ``cls.__init__``: remember the seed, the arguments and the initial state."""
        self.seed, self._built = seed, (cls, dict(arguments))
        self._initial = self._fingerprint()

    def _fingerprint(self) -> list[tuple]:
        """Identity, in-place version and checksum of every tensor: changes when anything is
        trained, loaded or edited, but not under ``.double()`` / ``.to(dtype)``."""
        tensors = list(self.parameters()) + list(self.buffers())
        return [(id(t), t._version, float(t.detach().double().sum())) for t in tensors]

    def adopt_seed(self, seed: int) -> bool:
        """Re-draw the initial parameters under ``seed`` if the model was built without a seed
        and is still exactly as built; returns whether it did. Same seed, same parameters as
        building the model with ``seed=seed``.
        """
        cls, arguments = getattr(self, "_built", (None, None))
        if self.seed is not None or type(self) is not cls or self._initial != self._fingerprint():
            return False  # seeded, a subclass we cannot rebuild, or changed since it was built
        fresh = cls(**arguments, seed=seed)
        self.load_state_dict(fresh.state_dict())   # copies, casting to this model's dtype and device
        self.seed = seed
        return True


@contextlib.contextmanager
def seeded(seed: int | None):
    """Draw from torch's generator seeded with ``seed`` without disturbing the global stream (no-op for None)."""
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield
