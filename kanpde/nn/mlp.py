"""Multilayer perceptron baseline with the KAN's model interface."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..checks import check_widths, largest_width
from ..memory import check_fits
from .network import Network, seeded


class Sine(nn.Module):
    """``sin(x)``, the SIREN-style activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


ACTIVATIONS = {"tanh": nn.Tanh, "silu": nn.SiLU, "sin": Sine, "gelu": nn.GELU, "softplus": nn.Softplus}


class MLP(Network):
    """Fully connected network ``[n_0, .., n_L]`` with a smooth activation.

    ``y = W_L s(.. s(W_1 x + b_1) ..) + b_L``, Xavier-normal weights, zero biases.
    Derivatives come from autograd (any order).

    Args:
        widths: layer widths, input first, e.g. ``[2, 32, 32, 1]``.
        activation: one of ``tanh``, ``silu``, ``sin``, ``gelu``, ``softplus``.
        seed: makes the initialisation reproducible.

    Raises:
        ValueError: widths that are not at least two positive ints; an unknown activation.
    """

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None):
        super().__init__()
        widths = check_widths("widths", widths, "[2, 32, 1]")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise TypeError(f"seed must be None or an int >= 0, got {seed!r}")
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}. Pick one of {tuple(ACTIVATIONS)}")
        check_fits(sum((i + 1) * o for i, o in zip(widths[:-1], widths[1:])), f"MLP(widths={widths}) (largest: {largest_width('widths', widths)})")
        self.widths, self.activation = widths, activation
        layers: list[nn.Module] = []
        with seeded(seed):
            for n, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
                linear = nn.Linear(i, o)
                nn.init.xavier_normal_(linear.weight)
                nn.init.zeros_(linear.bias)
                layers.append(linear)
                if n < len(widths) - 2:
                    layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self._initialised(MLP, seed, dict(widths=widths, activation=activation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``(N, out)`` at inputs ``x`` ``(N, in)``."""
        self.check_input(x)
        return self.net(x)
