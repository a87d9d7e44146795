import importlib.util
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import kanpde as kp

PI = math.pi


class Exact(nn.Module):
    """A 'model' that is a given function: lets conditions and residuals be checked on exact solutions."""

    def __init__(self, fn, in_dim, out_dim=1):
        super().__init__()
        self.fn, self.in_dim, self.out_dim = fn, in_dim, out_dim
        self.dummy = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        y = self.fn(x)
        return (y.unsqueeze(1) if y.ndim == 1 else y) + 0 * self.dummy


@pytest.fixture(autouse=True)
def _float64_and_seed():
    torch.manual_seed(0)
    yield


def sinsin(x):
    return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])


def poisson_problem(**kwargs):
    def pde(x, u):
        return u.laplacian() + 2 * PI ** 2 * sinsin(x)
    kwargs.setdefault("conditions", [kp.Dirichlet(0.0)])
    kwargs.setdefault("name", "poisson2d")
    return kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, exact=sinsin, **kwargs)


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name):
    """A script of scripts/ as a module (its ``main(argv)`` runs it), without running it."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
