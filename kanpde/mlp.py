"""Multilayer perceptron baseline with the KAN's model interface."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "silu": nn.SiLU, "sin": None, "gelu": nn.GELU, "softplus": nn.Softplus}


class Sine(nn.Module):
    """``sin(x)``, the SIREN-style activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class MLP(nn.Module):
    """Fully connected network ``[n_0, .., n_L]`` with a smooth activation.

    ``y = W_L s(.. s(W_1 x + b_1) ..) + b_L``, Xavier-normal weights, zero biases.
    Derivatives come from autograd (any order).

    Args:
        widths: layer widths, input first, e.g. ``[2, 32, 32, 1]``.
        activation: one of ``tanh``, ``silu``, ``sin``, ``gelu``, ``softplus``.
        seed: makes the initialisation reproducible.
    """

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None):
        super().__init__()
        widths = list(widths)
        if len(widths) < 2 or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
            raise ValueError(f"expected widths as a list of at least 2 positive ints like [2, 32, 1], got {widths!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}. Pick one of {tuple(ACTIVATIONS)}")
        self.widths, self.activation = widths, activation
        state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(seed)
        try:
            layers: list[nn.Module] = []
            for n, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
                linear = nn.Linear(i, o)
                nn.init.xavier_normal_(linear.weight)
                nn.init.zeros_(linear.bias)
                layers.append(linear)
                if n < len(widths) - 2:
                    layers.append(Sine() if activation == "sin" else ACTIVATIONS[activation]())
            self.net = nn.Sequential(*layers)
        finally:
            if seed is not None:
                torch.random.set_rng_state(state)

    @property
    def in_dim(self) -> int:
        return self.widths[0]

    @property
    def out_dim(self) -> int:
        return self.widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``(N, out)`` at inputs ``x`` ``(N, in)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of shape (N, {self.in_dim}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected input of shape (N, {self.in_dim}), got {tuple(x.shape)}")
        return self.net(x)
