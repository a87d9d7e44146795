"""Model specs: what it takes to rebuild a kanpde model before loading its state dict."""

from __future__ import annotations

from torch import nn

from .kan import KAN
from .knots import MappedKAN
from .mlp import MLP


def model_spec(model: nn.Module) -> dict | None:
    """What it takes to rebuild the model before loading its state dict."""
    if isinstance(model, MappedKAN):  # moving knots (kanpde.nn.knots): the map's buffers come with the state dict
        return {"type": "MappedKAN", "widths": list(model.widths), "grid": model.grid, "k": model.k,
                "cells": model.knot_map.cells}
    if isinstance(model, KAN):
        return {"type": "KAN", "widths": list(model.widths), "grid": model.grid, "k": model.k}
    if isinstance(model, MLP):
        return {"type": "MLP", "widths": list(model.widths), "activation": model.activation}
    return None


def build_model(spec: dict) -> nn.Module:
    if spec["type"] == "KAN":
        return KAN(spec["widths"], grid=spec["grid"], k=spec["k"])
    if spec["type"] == "MappedKAN":
        return MappedKAN(spec["widths"], grid=spec["grid"], k=spec["k"], cells=spec["cells"])
    if spec["type"] == "MLP":
        return MLP(spec["widths"], activation=spec["activation"])
    raise ValueError(f"unknown model type {spec['type']!r} in checkpoint. Pick one of ('KAN', 'MappedKAN', 'MLP')")
