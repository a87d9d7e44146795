"""Fuzzing the public API: every bad input gets a ValueError/TypeError/FileNotFoundError whose
message names the argument and the bad value; none trains silently or gives NaN.

Each row is (entry point, call, expected exception, regex the message must match). The
regexes name the argument (and, where there is one to show, the bad value).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kanpde as kp
from kanpde.cli import main

ROOT = Path(__file__).resolve().parents[1]
SQUARE = kp.Rectangle((-1, -1), (1, 1))
LINE = kp.Interval(0, 1)
SPACETIME = kp.Interval(0, 1) * kp.TimeInterval(0, 1)
NAN, INF = float("nan"), float("inf")
ERRORS = (ValueError, TypeError, FileNotFoundError)


def laplace(x, u):
    return u.laplacian()


def problem(**kwargs):
    kwargs.setdefault("conditions", [kp.Dirichlet(0.0)])
    return kp.Problem(SQUARE, kwargs.pop("pde", laplace), **kwargs)


def kan(widths=(2, 3, 1)):
    return kp.KAN(list(widths), grid=3, seed=0)


def tiny(**kwargs):
    kwargs = {"schedule": [kp.Adam(2)], "interior_points": 32, "boundary_points": 16, **kwargs}
    return kp.TrainConfig(verbose=False, **kwargs)


def train(prob, model=None, **kwargs):
    return kp.solve(prob, model if model is not None else kan(), tiny(**kwargs))


def untrained(prob=None):
    return kp.Solution(prob if prob is not None else problem(exact=lambda x: x[:, :1] * 0), kan().double())


def call(fn, /, *args, **kwargs):
    return lambda: fn(*args, **kwargs)


# ----------------------------------------------------------------------------------- geometry

GEOMETRY = [
    (lambda: kp.Interval(1, 0), ValueError, r"hi > lo|b > a|1"),
    (lambda: kp.Interval(0, NAN), ValueError, r"finite|nan"),
    (lambda: kp.Interval(0, INF), ValueError, r"finite|inf"),
    (lambda: kp.Interval("a", 1), (TypeError, ValueError), r"'a'|number"),
    (lambda: kp.Interval(0, 1, name=3), (TypeError, ValueError), r"name|3"),
    (lambda: kp.Rectangle((0, 0), (1,)), ValueError, r"lo and hi of length 2.*got 2 and 1"),
    (lambda: kp.Rectangle((0, 0), (0, 1)), ValueError, r"hi > lo|0"),
    (lambda: kp.Rectangle((0, 0), (1, NAN)), ValueError, r"finite|nan"),
    (lambda: kp.Rectangle("ab", "cd"), (TypeError, ValueError), r"'ab'|number"),
    (lambda: kp.Box([], []), ValueError, r"lo|\[\]"),
    (lambda: kp.Box((0, 0, 0), (1, 1, 1), names=("x", "x", "y")), ValueError, r"unique.*'x'"),
    (lambda: kp.Disk((0, 0), -1), ValueError, r"radius.*-1"),
    (lambda: kp.Disk((0, 0), 0), ValueError, r"radius.*0"),
    (lambda: kp.Disk((0, 0), NAN), ValueError, r"radius.*nan"),
    (lambda: kp.Disk((NAN, 0), 1), ValueError, r"center.*nan|finite"),
    (lambda: kp.TimeInterval(1, 0), ValueError, r"t1 > t0|1"),
    (lambda: kp.TimeInterval(0, INF), ValueError, r"finite|inf"),
    (lambda: kp.Interval(0, 1) * 3, TypeError, r"TimeInterval|int"),
    (call(SQUARE.sample_interior, 0), ValueError, r"n.*0"),
    (call(SQUARE.sample_interior, -5), ValueError, r"n.*-5"),
    (call(SQUARE.sample_interior, 2.5), TypeError, r"n.*2\.5"),
    (call(SQUARE.sample_interior, 10, method="random"), ValueError, r"method 'random'.*Pick one of"),
    (call(SQUARE.sample_boundary, 10, side="nowhere"), ValueError, r"'nowhere'.*Pick one of"),
    (call(SQUARE.sample_interior, 10 ** 17), ValueError, r"n=10+ points needs about .*B"),
    (call(SQUARE.contains, np.zeros((3, 3))), ValueError, r"\(3, 3\)|2"),
    (call(SQUARE.index, "q"), ValueError, r"'q'.*Pick one of"),
    (call(SQUARE.index, 7), ValueError, r"7"),
]

# ----------------------------------------------------------------------------------- fields


def _field(x=None, backend="auto", outputs=1):
    prob = problem(outputs=("u", "v")[:outputs]) if outputs > 1 else problem()
    x = torch.rand(5, 2, dtype=torch.float64) if x is None else x
    return prob.field(kan((2, 3, outputs)).double(), x, backend)


FIELDS = [
    (lambda: _field().d("q"), ValueError, r"'q'.*Pick one of"),
    (lambda: _field().d(5), ValueError, r"5"),
    (lambda: _field().d(1.5), (TypeError, ValueError), r"1\.5"),
    (lambda: _field()[3], (ValueError, IndexError), r"3"),
    (lambda: _field(outputs=2)["w"], ValueError, r"'w'.*Pick one of"),
    (lambda: _field(backend="magic"), ValueError, r"backend 'magic'.*Pick one of"),
    (lambda: _field(x=torch.rand(5, 3, dtype=torch.float64)).value, ValueError, r"\(N, 2\).*\(5, 3\)"),
    (lambda: _field(outputs=2)["u"].d("z"), ValueError, r"'z'.*Pick one of"),
]

# ----------------------------------------------------------------------------------- conditions

CONDITIONS = [
    (lambda: kp.Dirichlet("a"), TypeError, r"Dirichlet value.*str"),
    (lambda: kp.Dirichlet(NAN), ValueError, r"Dirichlet value.*nan"),
    (lambda: kp.Dirichlet(INF), ValueError, r"Dirichlet value.*inf"),
    (lambda: kp.Dirichlet([1, 2]), TypeError, r"Dirichlet value.*list"),
    (lambda: kp.Dirichlet(True), TypeError, r"Dirichlet value.*bool"),
    (lambda: kp.Dirichlet(0, on=5), TypeError, r"on must be.*int"),
    (lambda: kp.Dirichlet(0, hard="yes"), ValueError, r"hard.*'yes'"),
    (lambda: problem(conditions=[kp.Dirichlet(0, hard=True, on=lambda x: x[:, 0] > 0)]), ValueError, r"hard"),
    (lambda: kp.Dirichlet(0, component=-1), TypeError, r"component.*-1"),
    (lambda: kp.Dirichlet(0, component=1.5), TypeError, r"component.*1\.5"),
    (lambda: kp.Dirichlet(0, name=3), TypeError, r"name.*3"),
    (lambda: kp.Dirichlet(0, name=""), TypeError, r"name.*''"),
    (lambda: kp.Neumann("x"), TypeError, r"Neumann value.*str"),
    (lambda: kp.Neumann(NAN), ValueError, r"Neumann value.*nan"),
    (lambda: kp.Robin("a", 1), TypeError, r"Robin alpha.*str"),
    (lambda: kp.Robin(1, NAN), ValueError, r"Robin beta.*nan"),
    (lambda: kp.Robin(1, 1, INF), ValueError, r"Robin value.*inf"),
    (lambda: kp.Periodic(1.5), TypeError, r"Periodic coordinate.*1\.5"),
    (lambda: kp.Periodic("x", derivatives="yes"), TypeError, r"derivatives.*'yes'"),
    (lambda: kp.Initial(derivative=-1), ValueError, r"derivative.*-1"),
    (lambda: kp.Initial(derivative=1.5), ValueError, r"derivative.*1\.5"),
    (lambda: kp.Initial("a"), TypeError, r"Initial value.*str"),
    (lambda: kp.Data([], []), ValueError, r"Data.*points.*\(0,\)"),
    (lambda: kp.Data(np.zeros((0, 2)), np.zeros(0)), ValueError, r"at least one point.*\(0, 2\)"),
    (lambda: kp.Data([[0.5]], [NAN]), ValueError, r"Data values must be finite"),
    (lambda: kp.Data([[NAN]], [1.0]), ValueError, r"Data points must be finite"),
    (lambda: kp.Data([[0.5]], [1, 2]), ValueError, r"points \(1, 1\) and values \(2,\)"),
    (lambda: kp.Data("abc", [1]), TypeError, r"Data points.*str"),
    (lambda: kp.Data([[0.5, 0.5]], [1.0], component=-2), TypeError, r"component.*-2"),
    (lambda: problem(conditions=[kp.Dirichlet(0, on="nowhere")]), ValueError, r"'nowhere'.*Pick one of"),
    (lambda: kp.Problem(SPACETIME, laplace, [kp.Periodic("t")]), ValueError, r"Periodic.*'t'"),
    (lambda: kp.Problem(SPACETIME, laplace, [kp.Periodic("q")]), ValueError, r"'q'"),
    (lambda: problem(conditions=[kp.Initial(0.0)]), ValueError, r"Initial needs.*time axis"),
    (lambda: problem(conditions=[kp.Data([[2.0, 0.0]], [1.0])]), ValueError, r"outside.*\[2\.0, 0\.0\]"),
    (lambda: problem(conditions=[kp.Data([[0.5]], [1.0])]), ValueError, r"Data points must have 2 columns"),
    (lambda: problem(conditions=[kp.Data([[0.5, 0.5]], [[1.0, 2.0]])]), ValueError,
     r"Data values must have 1 column.*\(1, 2\)"),
    (lambda: problem(conditions=[kp.Dirichlet(0, component="v")]), ValueError, r"component 'v'.*Pick one of"),
    (lambda: problem(conditions=[kp.Dirichlet(0, component=3)]), ValueError, r"component 3.*out of range"),
    (lambda: problem(conditions=[kp.Dirichlet(0, hard=True), kp.Dirichlet(1, hard=True)]), ValueError,
     r"Dirichlet\(hard=True\) cannot be built in|conditions contradict.*value=0.*value=1"),
    (lambda: problem(conditions=[kp.Neumann(0)]).with_hard_dirichlet(), ValueError,
     r"exactly one Dirichlet.*has 0"),
]

# ----------------------------------------------------------------------------------- Problem

PROBLEM = [
    (lambda: kp.Problem((0, 1), laplace), TypeError, r"domain must be.*tuple"),
    (lambda: kp.Problem(SQUARE, "laplace"), TypeError, r"pde must be a function.*str"),
    (lambda: problem(conditions=5), TypeError, r"conditions.*int"),
    (lambda: problem(conditions=["dirichlet"]), TypeError, r"conditions.*str"),
    (lambda: problem(exact="sin"), TypeError, r"exact must be None or a function.*str"),
    (lambda: problem(exact=lambda x: x.unsqueeze(-1)), ValueError, r"exact must return shape.*\(8, 2, 1\)"),
    (lambda: problem(exact=lambda x: x), ValueError, r"exact must return shape \(8,\) or \(8, 1\).*\(8, 2\)"),
    (lambda: problem(exact=lambda x: x[:, 0] * NAN), ValueError, r"exact must give finite values"),
    (lambda: problem(exact=lambda x: "sin(x)"), TypeError, r"exact must return a torch tensor.*str"),
    (lambda: problem(exact=lambda x: x[:, 0] > 0), TypeError, r"exact must return real numbers.*bool"),
    (lambda: problem(exact=lambda x: np.array(["a"] * len(x))), TypeError, r"exact must return (numbers|a torch tensor).*ndarray"),
    (lambda: problem(reference=3.0), TypeError, r"reference must be None or a function.*float"),
    (lambda: problem(transform="x"), TypeError, r"transform must be None or a function.*str"),
    (lambda: problem(outputs=""), ValueError, r"outputs must be.*''"),
    (lambda: problem(outputs=("u", "u")), ValueError, r"outputs.*\('u', 'u'\)"),
    (lambda: problem(outputs=5), TypeError, r"outputs.*5"),
    (lambda: problem(outputs=[1]), ValueError, r"outputs.*\(1,\)"),
    (lambda: problem(outputs=()), ValueError, r"outputs.*\(\)"),
    (lambda: problem(name=""), TypeError, r"name.*''"),
    (lambda: problem(name=3), TypeError, r"name.*3"),
    (lambda: problem(parameters={"a": NAN}), ValueError, r"parameters\['a'\].*nan"),
    (lambda: problem(parameters={"a": "x"}), TypeError, r"parameters\['a'\].*str"),
    (lambda: problem(parameters=[1.0]), TypeError, r"parameters must be a dict.*list"),
    (lambda: problem(weights={"pde": -1}), ValueError, r"weights\['pde'\].*>= 0.*-1"),
    (lambda: problem(weights={"pde": NAN}), ValueError, r"weights\['pde'\].*nan"),
    (lambda: problem(weights={"pde": "big"}), TypeError, r"weights\['pde'\].*str"),
    (lambda: problem(weights="pde"), TypeError, r"weights must be a dict.*str"),
    (lambda: problem(weights={3: 1.0}), TypeError, r"weights keys.*3"),
    (lambda: problem(conditions=[kp.Dirichlet(0, hard=True)], transform=lambda x, n: n), ValueError,
     r"hard=True.*transform="),
]

# ----------------------------------------------------------------------------------- models

MODELS = [
    (lambda: kp.KAN([2]), ValueError, r"widths.*\[2\]"),
    (lambda: kp.KAN("21"), TypeError, r"widths must be a list.*'21'"),
    (lambda: kp.KAN([2, 0, 1]), ValueError, r"width.*0"),
    (lambda: kp.KAN([2, 1.5, 1]), TypeError, r"width.*1\.5"),
    (lambda: kp.KAN([2, 3, 1], grid=0), ValueError, r"grid.*0"),
    (lambda: kp.KAN([2, 3, 1], grid=2.5), TypeError, r"grid.*2\.5"),
    (lambda: kp.KAN([2, 3, 1], k=-1), ValueError, r"k.*-1"),
    (lambda: kp.KAN([2, 3, 1], noise_scale=NAN), ValueError, r"noise_scale.*nan"),
    (lambda: kp.KAN([2, 3, 1], base_scale=-1), ValueError, r"base_scale.*-1"),
    (lambda: kp.KAN([2, 3, 1], grid_range=(1, 0)), ValueError, r"grid_range.*\(1, 0\)"),
    (lambda: kp.KAN([2, 3, 1], grid_range=(0, INF)), ValueError, r"grid_range.*inf"),
    (lambda: kp.KAN([2, 3, 1], grid_range="ab"), TypeError, r"grid_range.*'ab'"),
    (lambda: kp.KAN([2, 3, 1], seed=-1), ValueError, r"seed.*-1"),
    (lambda: kp.KAN([2, 10 ** 7, 10 ** 7]), ValueError, r"KAN\(widths=\[2, 10000000, 10000000\].*needs about .*B"),
    (lambda: kp.MLP([2]), ValueError, r"widths.*\[2\]"),
    (lambda: kp.MLP([2, 3, 1], activation="relu6"), ValueError, r"activation 'relu6'.*Pick one of"),
    (lambda: kp.MLP([2, 3, 1], activation=5), ValueError, r"activation 5.*Pick one of"),
    (lambda: kp.MLP([2, 10 ** 7, 10 ** 7]), ValueError, r"MLP\(widths=\[2, 10000000, 10000000\]\).*needs about"),
    (lambda: kp.MLP([2, 3, 1], seed="a"), TypeError, r"seed.*'a'"),
    (lambda: kan()(torch.rand(4, 3)), ValueError, r"\(N, 2\).*\(4, 3\)"),
    (lambda: kan()(np.zeros((4, 2))), TypeError, r"torch.Tensor.*ndarray"),
    (lambda: kan().refine(0), ValueError, r"grid.*0"),
]

# ----------------------------------------------------------------------------------- stages, TrainConfig

STAGES = [
    (lambda: kp.Adam(100, 5), TypeError, r"positional argument"),
    (lambda: kp.LBFGS(100, 5), TypeError, r"positional argument"),
    (lambda: kp.Adam(-1), ValueError, r"Adam.steps.*-1"),
    (lambda: kp.Adam(1.5), TypeError, r"Adam.steps.*1\.5"),
    (lambda: kp.Adam("10"), TypeError, r"Adam.steps.*'10'"),
    (lambda: kp.Adam(10, lr=0), ValueError, r"Adam.lr.*> 0.*0"),
    (lambda: kp.Adam(10, lr=-1e-3), ValueError, r"Adam.lr.*-0\.001"),
    (lambda: kp.Adam(10, lr=INF), ValueError, r"Adam.lr.*inf"),
    (lambda: kp.Adam(10, lr=NAN), ValueError, r"Adam.lr.*nan"),
    (lambda: kp.Adam(10, lr="fast"), TypeError, r"Adam.lr.*'fast'"),
    (lambda: kp.Adam(10, grid=0), ValueError, r"Adam.grid.*0"),
    (lambda: kp.Adam(10, grid=2.5), TypeError, r"Adam.grid.*2\.5"),
    (lambda: kp.Adam(10, lr_final=0), ValueError, r"Adam.lr_final.*0"),
    (lambda: kp.Adam(10, update_grid="yes"), TypeError, r"Adam.update_grid.*'yes'"),
    (lambda: kp.LBFGS(10, lr=0), ValueError, r"LBFGS.lr.*0"),
    (lambda: kp.LBFGS(10, lr=NAN), ValueError, r"LBFGS.lr.*nan"),
    (lambda: kp.LBFGS(10, history_size=0), ValueError, r"LBFGS.history_size.*0"),
    (lambda: kp.LBFGS(10, chunk=0), ValueError, r"LBFGS.chunk.*0"),
    (lambda: kp.LBFGS(10, grid=0), ValueError, r"LBFGS.grid.*0"),
    (lambda: kp.LBFGS(-3), ValueError, r"LBFGS.steps.*-3"),
]

CONFIG = [(lambda kw=kw: kp.TrainConfig(**kw), error, pattern) for kw, error, pattern in [
    ({"interior_points": 0}, ValueError, r"interior_points.*0"),
    ({"interior_points": -5}, ValueError, r"interior_points.*-5"),
    ({"interior_points": 1.5}, TypeError, r"interior_points.*1\.5"),
    ({"boundary_points": 0}, ValueError, r"boundary_points.*0"),
    ({"schedule": []}, ValueError, r"schedule.*at least one stage"),
    ({"schedule": "adam"}, TypeError, r"schedule.*'adam'"),
    ({"schedule": [5]}, TypeError, r"schedule.*5"),
    ({"seed": -1}, ValueError, r"seed.*-1"),
    ({"seed": 1.5}, TypeError, r"seed.*1\.5"),
    ({"device": 0}, TypeError, r"device.*0"),
    ({"device": "gpu9"}, ValueError, r"device 'gpu9'.*Pick one of"),
    ({"dtype": "float33"}, ValueError, r"dtype 'float33'.*Pick one of"),
    ({"dtype": torch.int32}, TypeError, r"dtype.*torch.int32"),
    ({"dtype": 5}, TypeError, r"dtype.*5"),
    ({"verbose": "yes"}, TypeError, r"verbose.*'yes'"),
    ({"sampling": "random"}, ValueError, r"sampling 'random'.*Pick one of"),
    ({"weights": {"pde": -1}}, ValueError, r"weights\['pde'\].*-1"),
    ({"weights": {"pde": NAN}}, ValueError, r"weights\['pde'\].*nan"),
    ({"weights": {"pde": INF}}, ValueError, r"weights\['pde'\].*inf"),
    ({"weights": [1]}, TypeError, r"weights.*\[1\]"),
    ({"weights": {1: 1}}, TypeError, r"weights keys.*1"),
    ({"resample_every": 0}, ValueError, r"resample_every.*0"),
    ({"resample_every": -1}, ValueError, r"resample_every.*-1"),
    ({"adaptive": "magic"}, ValueError, r"adaptive 'magic'.*Pick one of"),
    ({"eval_every": 0}, ValueError, r"eval_every.*0"),
    ({"update_grid": 1}, TypeError, r"update_grid.*1"),
    ({"grid_update_every": 0}, ValueError, r"grid_update_every.*0"),
    ({"grid_margin": -0.1}, ValueError, r"grid_margin.*-0\.1"),
    ({"grid_margin": NAN}, ValueError, r"grid_margin.*nan"),
    ({"derivatives": "symbolic"}, ValueError, r"derivatives 'symbolic'.*Pick one of"),
    ({"callbacks": [5]}, TypeError, r"callbacks.*5"),
    ({"max_retries": -1}, ValueError, r"max_retries.*-1"),
    ({"threads": 0}, ValueError, r"threads.*0"),
]]

# ----------------------------------------------------------------------------------- solve


def _nan_parameter_model():
    model = kan()
    with torch.no_grad():
        model.layers[0].coef[0, 0, 0] = NAN
    return model


def _float_mask(x):
    return x[:, 0] * 1.0


SOLVE = [
    (lambda: kp.solve("poisson", kan()), TypeError, r"problem must be a kanpde.Problem.*str"),
    (lambda: kp.solve(problem(), "kan"), TypeError, r"model must be a torch.nn.Module.*str"),
    (lambda: kp.solve(problem(), kan(), {"seed": 0}), TypeError, r"config must be a kanpde.TrainConfig.*dict"),
    (lambda: train(problem(), kan((3, 3, 1))), ValueError, r"takes 3 inputs.*2 coordinates"),
    (lambda: train(problem(), kan((2, 3, 2))), ValueError, r"2 outputs.*problem has 1"),
    (lambda: train(problem(), device="cuda:99"), ValueError, r"device 'cuda:99'"),
    (lambda: train(problem(pde=lambda x, u: u.grad().repeat(1, 2)[:, :3])), ValueError,
     r"pde residual 'pde' must have shape \((8|32), 1\).*\((8|32), 3\)"),
    (lambda: train(problem(pde=lambda x, u: ())), ValueError, r"pde returned no residuals"),
    (lambda: train(problem(pde=lambda x, u: np.zeros(len(x)))), TypeError, r"pde residual 'pde' must be a torch.Tensor.*ndarray"),
    (lambda: train(problem(pde=lambda x, u: u.laplacian() * NAN)), ValueError, r"loss term.*'pde'.*non-finite at step 0"),
    (lambda: train(problem(pde=lambda x, u: u.laplacian() + INF)), ValueError, r"'pde'.*non-finite at step 0.*inf"),
    (lambda: train(problem(pde=lambda x, u, p: u.laplacian() - p["a"], parameters={"a": 1.0},
                           conditions=[kp.Dirichlet(0.0)]), _nan_parameter_model()), ValueError,
     r"model parameter 'layers.0.coef' holds NaN"),
    (lambda: train(problem(conditions=[kp.Dirichlet(lambda x: x[:, 0] * NAN)])), ValueError,
     r"Dirichlet value must give finite values"),
    (lambda: train(problem(conditions=[kp.Dirichlet(lambda x: x)])), ValueError,
     r"Dirichlet value must return shape \(16,\) or \(16, 1\).*\(16, 2\)"),
    (lambda: train(problem(conditions=[kp.Neumann(lambda x: "flux")])), TypeError, r"Neumann value must return.*str"),
    (lambda: train(problem(conditions=[kp.Robin(lambda x: x[:, 0] / 0, 1.0)])), ValueError,
     r"Robin alpha must give finite values"),
    (lambda: train(kp.Problem(SPACETIME, lambda x, u: u.d("t"), [kp.Initial(lambda x: x[:, :1] + INF)])), ValueError,
     r"Initial value must give finite values"),
    (lambda: train(problem(conditions=[kp.Dirichlet(0.0, on=_float_mask)])), TypeError,
     r"on= predicate must return booleans.*float"),
    (lambda: train(problem(conditions=[kp.Dirichlet(0.0, on=lambda x: torch.ones(3, dtype=torch.bool))])), ValueError,
     r"on= predicate must return one bool per point.*\(3,\)"),
    (lambda: train(problem(conditions=[kp.Dirichlet(0.0, on=lambda x: x[:, 0] > 5)])), ValueError,
     r"on= predicate selected too few boundary points"),
    (lambda: train(problem(reference=lambda x: torch.zeros(len(x), 2))), ValueError,
     r"reference must return shape \(\d+,\) or \(\d+, 1\).*2\)"),
    (lambda: train(problem(reference=lambda x: torch.full((len(x),), NAN))), ValueError,
     r"reference must give finite values"),
    (lambda: train(problem(), weights={"pdf": 1.0}), ValueError, r"unknown terms \['pdf'\]"),
    (lambda: train(problem(), interior_points=10 ** 13), ValueError, r"interior_points=10+.*needs about .*B"),
    (lambda: train(problem(pde=lambda x, u: u.laplacian() / 0 * 0)), ValueError, r"'pde'.*non-finite at step 0.*nan"),
]

# ----------------------------------------------------------------------------------- predict

PREDICT = [
    (lambda: untrained().predict("abc"), (TypeError, ValueError), r"points.*'abc'|\(\)"),
    (lambda: untrained().predict([[1, 2, 3]]), ValueError, r"\(N, 2\).*\(1, 3\)"),
    (lambda: untrained().predict(np.zeros(3)), ValueError, r"\(N, 2\).*\(3,\)"),
    (lambda: untrained().predict([[NAN, 0.0]]), ValueError, r"points contain NaN or inf"),
    (lambda: untrained().predict([[5.0, 5.0]]), ValueError, r"outside the domain.*\[5\.0, 5\.0\]"),
    (lambda: untrained().predict(torch.zeros(2, 3)), ValueError, r"\(N, 2\).*\(2, 3\)"),
    (lambda: untrained().predict([["a", "b"]]), TypeError, r"points must be an \(N, D\) array of numbers"),
    (lambda: untrained(problem()).errors(), ValueError, r"errors\(\) needs a problem with an exact or reference"),
    (lambda: untrained().errors(np.zeros((4, 5))), ValueError, r"\(N, 2\).*\(4, 5\)"),
    (lambda: kp.Solution("problem", kan()), TypeError, r"problem must be a kanpde.Problem or None.*str"),
    (lambda: kp.Solution(problem(), "network"), TypeError, r"network must be a torch.nn.Module.*str"),
]

# ----------------------------------------------------------------------------------- save / load


def _saved(tmp: Path, prob=None) -> Path:
    return untrained(prob).save(tmp / "good.pt")


def _write(tmp: Path, data: bytes, name="bad.pt") -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def _payload(tmp: Path, **changes) -> Path:
    payload = torch.load(_saved(tmp), weights_only=True)
    payload.update(changes)
    torch.save(payload, tmp / "edited.pt")
    return tmp / "edited.pt"


class Custom:  # any class not on torch's weights_only allow-list
    pass


def _custom_class(tmp):
    torch.save({"format": "kanpde-solution-2", "x": Custom()}, tmp / "custom.pt")
    return tmp / "custom.pt"


LOAD = [
    (lambda tmp: kp.Solution.load(tmp / "missing.pt"), FileNotFoundError, r"no such checkpoint.*missing.pt"),
    (lambda tmp: kp.Solution.load(tmp), ValueError, r"checkpoint .* is not a file"),
    (lambda tmp: kp.Solution.load(_write(tmp, b"")), ValueError, r"bad.pt' is not a readable kanpde checkpoint"),
    (lambda tmp: kp.Solution.load(_write(tmp, b"not a checkpoint")), ValueError,
     r"bad.pt' is not a readable kanpde checkpoint"),
    (lambda tmp: kp.Solution.load(_write(tmp, _saved(tmp).read_bytes()[:300])), ValueError,
     r"bad.pt' is not a readable kanpde checkpoint .*truncated"),
    (lambda tmp: kp.Solution.load(_write(tmp, _saved(tmp).read_bytes()[:-40])), ValueError,
     r"bad.pt' is not a readable kanpde checkpoint"),
    (lambda tmp: kp.Solution.load(_custom_class(tmp)), ValueError, r"refusing checkpoint .*custom.pt.*Custom"),
    (lambda tmp: (torch.save({"a": 1}, tmp / "dict.pt"), kp.Solution.load(tmp / "dict.pt")), ValueError,
     r"dict.pt' is not a kanpde solution checkpoint.*None"),
    (lambda tmp: kp.Solution.load(_payload(tmp, history=None)), ValueError, r"damaged: field 'history'"),
    (lambda tmp: kp.Solution.load(_payload(tmp, transform="magic")), ValueError,
     r"unknown transform 'magic'.*Pick one of"),
    (lambda tmp: kp.Solution.load(_payload(tmp, model_spec={"type": "CNN"})), ValueError,
     r"damaged model spec \{'type': 'CNN'\}"),
    (lambda tmp: kp.Solution.load(_payload(tmp, model_spec={"type": "KAN", "widths": [2, 9, 1], "grid": 3, "k": 3})),
     ValueError, r"weights in .* do not fit the model"),
    (lambda tmp: kp.Solution.load(_payload(tmp, state_dict={})), ValueError, r"state_dict holds no tensors"),
    (lambda tmp: kp.Solution.load(_saved(tmp), problem="poisson"), TypeError, r"problem must be a kanpde.Problem.*str"),
    (lambda tmp: kp.Solution.load(_saved(tmp), problem=problem(name="other")), ValueError,
     r"does not match checkpoint .*name: saved 'problem', given 'other'"),
    (lambda tmp: kp.Solution.load(_saved(tmp), problem=kp.Problem(kp.Disk((0, 0), 1), laplace, [kp.Dirichlet(0.0)])),
     ValueError, r"does not match .*domain: saved .Rectangle.*given .Disk"),
    (lambda tmp: kp.Solution.load(_saved(tmp, problem(transform=lambda x, n: n))), ValueError,
     r"custom transform=.*Pass the problem"),
    (lambda tmp: kp.Solution.load(_saved(tmp, problem(conditions=[kp.Dirichlet(0.0, hard=True)]))), ValueError,
     r"built into u.*Pass the problem"),
    (lambda tmp: kp.Solution.load(_saved(tmp), model="KAN"), TypeError, r"model must be a torch.nn.Module.*str"),
]

# ----------------------------------------------------------------------------------- export

EXPORT = [
    (lambda tmp: kp.export_solution(untrained(), tmp / "a.foo"), ValueError, r"'\.foo'.*Pick one of"),
    (lambda tmp: kp.export_solution(untrained(), tmp / "a.vtu", resolution=0), ValueError, r"resolution.*0"),
    (lambda tmp: kp.export_solution(untrained(), tmp / "a.vtu", resolution=-5), ValueError, r"resolution.*-5"),
    (lambda tmp: kp.export_solution(untrained(), tmp / "a.vtu", resolution="high"), (TypeError, ValueError),
     r"resolution.*'high'"),
    (lambda tmp: kp.export_solution(untrained(), tmp / "a.vtu", fields=["v"]), ValueError, r"unknown field 'v'"),
    (lambda tmp: kp.export_solution(kp.Solution(None, kan().double()), tmp / "a.vtu"), ValueError, r"problem"),
    (lambda tmp: kp.export_solution("solution", tmp / "a.vtu"), (TypeError, ValueError),
     r"export needs a solution with a problem"),
    (lambda tmp: kp.export_fd("fd", tmp / "a.vtu"), TypeError, r"FDSolution.*str"),
]

# ----------------------------------------------------------------------------------- FD

FD = [
    (lambda: kp.fd.poisson(lambda p: p[:, 0] * NAN, [0], [1], 8), ValueError, r"f must give finite values"),
    (lambda: kp.fd.poisson(lambda p: torch.ones(len(p), 2), [0], [1], 8), ValueError, r"f must return shape.*\(9, 2\)|\(7, 2\)"),
    (lambda: kp.fd.poisson("one", [0], [1], 8), TypeError, r"f must be a number.*str"),
    (lambda: kp.fd.heat(0.0, 1.0, 0, 1, 8, 1.0, 8, g=lambda p: "hot"), TypeError, r"g must return.*str"),
    (lambda: kp.fd.poisson(1.0, [0, 0], [1, 1], 1), ValueError, r"n must be an int >= 2"),
]


def _cli_junk(tmp):
    return [str(_write(tmp, b"junk")), str(tmp / "a.vtu")]


def _cli_out_file(tmp):
    (tmp / "taken").write_text("")
    return str(tmp / "taken")


CLI = [
    (lambda tmp: [], r"choose a command"),
    (lambda tmp: ["frobnicate"], r"invalid choice: 'frobnicate'"),
    (lambda tmp: ["solve"], r"arguments are required: NAME_OR_PATH"),
    (lambda tmp: ["solve", "nope_problem"], r"unknown problem 'nope_problem'.*Pick one of"),
    (lambda tmp: ["solve", "poisson2d", "--adam-steps", "-1"], r"--adam-steps must be >= 0, got -1"),
    (lambda tmp: ["solve", "poisson2d", "--k", "-1"], r"--k must be an integer >= 0, got -1"),
    (lambda tmp: ["solve", "poisson2d", "--widths", "a,b"], r"--widths.*'a,b'|'a'"),
    (lambda tmp: ["solve", "poisson2d", "--grid-schedule", "0"], r"grid.*0"),
    (lambda tmp: ["solve", "poisson2d", "--points", "0"], r"interior_points.*0"),
    (lambda tmp: ["solve", "poisson2d", "--model", "cnn"], r"invalid choice: 'cnn'"),
    (lambda tmp: ["solve", "poisson2d", "--quiet", "--out", _cli_out_file(tmp)], r"--out must be a folder.*taken"),
    (lambda tmp: ["solve", str(tmp / "missing.py")], r"missing.py"),
    (lambda tmp: ["export", str(tmp / "missing.pt"), str(tmp / "a.vtu")], r"no such checkpoint.*missing.pt"),
    (lambda tmp: ["export", *_cli_junk(tmp)], r"bad.pt' is not a readable kanpde checkpoint"),
    (lambda tmp: ["export", str(_saved(tmp, problem(name="square"))), str(tmp / "a.foo"), "--problem",
                  str(_problem_file(tmp))],
     r"'\.foo'.*Pick one of"),
    (lambda tmp: ["export", str(_saved(tmp)), str(tmp / "a.vtu")], r"saved for problem 'problem'.*--problem"),
    (lambda tmp: ["fd", "nope"], r"unknown problem 'nope'.*Pick one of"),
    (lambda tmp: ["fd", "poisson2d", "--resolution", "1"], r"--resolution must be >= 2, got 1"),
]


def _problem_file(tmp: Path) -> Path:
    path = tmp / "square.py"
    path.write_text("import kanpde as kp\n"
                    "problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian(), "
                    "[kp.Dirichlet(0.0)], exact=lambda x: x[:, :1] * 0)\n")
    return path


def _ids(rows, prefix):
    return [f"{prefix}{i}" for i in range(len(rows))]


IN_MEMORY = GEOMETRY + FIELDS + CONDITIONS + PROBLEM + MODELS + STAGES + CONFIG + SOLVE + PREDICT + FD
IN_MEMORY_IDS = (_ids(GEOMETRY, "geometry") + _ids(FIELDS, "field") + _ids(CONDITIONS, "condition")
                 + _ids(PROBLEM, "problem") + _ids(MODELS, "model") + _ids(STAGES, "stage") + _ids(CONFIG, "config")
                 + _ids(SOLVE, "solve") + _ids(PREDICT, "predict") + _ids(FD, "fd"))


def test_at_least_150_bad_inputs():
    assert len(IN_MEMORY) + len(LOAD) + len(EXPORT) + len(CLI) >= 150


def _check(excinfo, pattern):
    message = str(excinfo.value.args[0]) if excinfo.value.args else ""
    assert re.search(pattern, message, flags=re.S), f"{type(excinfo.value).__name__}: {message}"
    assert "Traceback" not in message


@pytest.mark.parametrize("make, error, pattern", IN_MEMORY, ids=IN_MEMORY_IDS)
def test_bad_input_is_refused_with_a_clear_message(make, error, pattern):
    with pytest.raises(error) as excinfo:
        make()
    _check(excinfo, pattern)


@pytest.mark.parametrize("make, error, pattern", LOAD + EXPORT, ids=_ids(LOAD, "load") + _ids(EXPORT, "export"))
def test_bad_files_are_refused_with_a_clear_message(make, error, pattern, tmp_path):
    with pytest.raises(error) as excinfo:
        make(tmp_path)
    _check(excinfo, pattern)


@pytest.mark.parametrize("argv, pattern", CLI, ids=_ids(CLI, "cli"))
def test_cli_bad_input_is_one_error_line(argv, pattern, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv(tmp_path)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kanpde: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "results").exists()  # nothing trained, nothing written


# ----------------------------------------------------------------------------------- hypothesis

BAD_FLOATS = st.one_of(st.just(NAN), st.just(INF), st.just(-INF), st.floats(max_value=0.0, allow_nan=False))


@settings(max_examples=30, deadline=None)
@given(lr=BAD_FLOATS, stage=st.sampled_from([kp.Adam, kp.LBFGS]))
def test_any_non_positive_or_non_finite_learning_rate_is_refused(lr, stage):
    with pytest.raises(ValueError, match=rf"{stage.__name__}.lr must be a finite number > 0, got {re.escape(repr(lr))}"):
        stage(10, lr=lr)


@settings(max_examples=30, deadline=None)
@given(weight=st.one_of(st.just(NAN), st.just(INF), st.floats(max_value=-1e-300, allow_nan=False)),
       term=st.text(min_size=1, max_size=8))
def test_any_negative_or_non_finite_weight_is_refused(weight, term):
    with pytest.raises(ValueError, match=r"weights\[.*\] must be a finite number >= 0"):
        kp.TrainConfig(weights={term: weight})
    with pytest.raises(ValueError, match=r"weights\[.*\] must be a finite number >= 0"):
        problem(weights={term: weight})


@settings(max_examples=30, deadline=None)
@given(n=st.integers(max_value=0), field=st.sampled_from(["interior_points", "boundary_points", "eval_every"]))
def test_any_non_positive_count_is_refused(n, field):
    with pytest.raises(ValueError, match=rf"TrainConfig.{field} must be an int >= 1, got {n}"):
        kp.TrainConfig(**{field: n})


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(0, 6), cols=st.integers(1, 4))
def test_value_functions_of_the_wrong_shape_are_refused(rows, cols):
    x = torch.rand(5, 2, dtype=torch.float64)
    bad = rows != 5 or cols not in (1,)
    fn = lambda p: torch.zeros(rows, cols, dtype=p.dtype)  # noqa: E731
    if bad:
        with pytest.raises(ValueError, match=rf"Dirichlet value must return shape \(5,\) or \(5, 1\) .*\({rows}, {cols}\)"):
            kp.pde.call_points(fn, x, "Dirichlet value", columns=1)
    else:
        assert kp.pde.call_points(fn, x, "Dirichlet value", columns=1).shape == (5, 1)


# ----------------------------------------------------------------------------------- seams


def test_a_condition_reused_in_two_problems_keeps_both_terms():
    shared = kp.Neumann(0.0, on="left")
    first = problem(conditions=[kp.Dirichlet(0.0, on="right", hard=False), shared])
    second = problem(conditions=[shared, kp.Neumann(1.0, on="left")])
    assert first.terms == ["dirichlet[right]", "neumann[left]"]
    assert second.terms == ["neumann[left]", "neumann[left]_2"]
    assert first.term(shared) == "neumann[left]" and not hasattr(shared, "term")
    solution = train(first, schedule=[kp.Adam(1)])
    assert {"dirichlet[right]", "neumann[left]"} <= set(solution.history.steps[-1])


def test_solution_model_is_u_with_the_hard_constraint():
    prob = problem(conditions=[kp.Dirichlet(0.0, hard=True)], exact=lambda x: x[:, :1] * 0)
    solution = train(prob)
    boundary = torch.tensor([[-1.0, 0.3], [0.2, 1.0], [1.0, -0.7]], dtype=torch.float64)
    with torch.no_grad():
        u = solution.model(boundary)
        n = solution.network(boundary)
    torch.testing.assert_close(u, solution.predict(boundary), rtol=0, atol=0)
    assert float(u.abs().max()) == 0.0 and float(n.abs().max()) > 1e-6
    assert isinstance(solution.model, torch.nn.Module) and solution.network is not solution.model


def test_custom_transform_checkpoint_needs_its_problem(tmp_path):
    prob = problem(transform=lambda x, n: (1 - x[:, :1] ** 2) * n, exact=lambda x: x[:, :1] * 0)
    solution = train(prob)
    path = solution.save(tmp_path / "t.pt")
    with pytest.raises(ValueError, match="custom transform="):
        kp.Solution.load(path)
    with pytest.raises(ValueError, match="transform: saved 'custom', given 'constraints'"):
        kp.Solution.load(path, problem=problem(exact=lambda x: x[:, :1] * 0))
    loaded = kp.Solution.load(path, problem=prob)
    x = np.array([[0.3, 0.2], [-0.5, 0.9]])
    np.testing.assert_array_equal(loaded.predict(x), solution.predict(x))


class _Boom:
    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


def test_a_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    flag = tmp_path / "ran"
    boom = _Boom()
    boom.flag = flag
    payload = torch.load(_saved(tmp_path), weights_only=True)
    payload["history"] = boom
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"refusing checkpoint .*evil.pt.*holds code \((posix|nt)\.system\)"):
        kp.Solution.load(path)
    assert not flag.exists()
    assert main(["export", str(path), str(tmp_path / "a.vtu")]) == 2
    assert not flag.exists()
    torch.load(path, weights_only=False)  # an unsafe load would have run it (a harmless touch in tmp_path)
    assert flag.exists()


def test_a_user_problem_named_like_a_benchmark_is_not_confused_with_it(tmp_path, capsys):
    mine = kp.Problem(kp.Disk((0, 0), 1), laplace, [kp.Dirichlet(0.0, hard=False)], name="poisson2d")
    path = kp.Solution(mine, kan().double()).save(tmp_path / "mine.pt")
    assert kp.Solution.load(path).problem is None  # the library never looks the name up
    assert main(["export", str(path), str(tmp_path / "a.vtu")]) == 2
    assert re.search(r"does not match checkpoint .*domain: saved .Disk", capsys.readouterr().err)
    assert kp.Solution.load(path, problem=mine).problem is mine


def test_no_module_in_kanpde_imports_problems():
    pattern = re.compile(r"^\s*(from\s+problems\b|import\s+problems\b)|import_module\(\s*['\"]problems", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "kanpde").rglob("*.py")
                 if p.name != "cli.py" and pattern.search(p.read_text())]
    assert offenders == []


def test_import_kanpde_stays_light():
    """No matplotlib or meshio at all; tqdm (which torch itself imports) nothing beyond torch's."""
    code = ("import sys; import torch; before = set(sys.modules); import kanpde; "
            "added = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(added & {'matplotlib', 'meshio', 'tqdm', 'problems'}), "
            "sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'meshio'}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[] []", out.stdout + out.stderr


def test_step_zero_nan_keeps_no_model_and_does_not_warn(recwarn):
    with pytest.raises(ValueError, match="non-finite at step 0"):
        train(problem(pde=lambda x, u: u.laplacian() * NAN))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_numpy_only_functions_go_through_the_explicit_adapter():
    seen = []

    def numpy_only(points):
        seen.append(type(points))
        return np.sin(points[:, 0])

    fn = kp.numpy_function(numpy_only)
    x = torch.rand(6, 2, dtype=torch.float32)
    values = kp.pde.call_points(fn, x, "exact", columns=1)
    assert seen == [np.ndarray] and values.shape == (6, 1) and values.dtype == torch.float32
    torch.testing.assert_close(values[:, 0], torch.sin(x[:, 0]))
    with pytest.raises(TypeError, match="numpy_function needs a callable, got int"):
        kp.numpy_function(3)
    prob = problem(reference=fn)  # a numpy reference is accepted through the adapter
    assert prob.solution_values(torch.zeros(4, 2, dtype=torch.float64)).shape == (4, 1)
    assert math.isfinite(float(untrained(prob).errors()["max_abs"]))


# ----------------------------------------------------------------------------------- the last classes (issue 28)
# Each class of input that used to reach torch, numpy or the allocator unnamed: several cases each, the exception
# type and a message that names the argument (and what was expected).

def _meta_pde(x, u):
    return u.laplacian() - torch.zeros(x.shape[0], 1, device="meta")


def _parameter_problem(pde):
    return problem(pde=pde, parameters={"k": 1.0}, conditions=[kp.Dirichlet(0.0, hard=False)])


class _NoParameters(torch.nn.Module):
    in_dim, out_dim = 2, 1

    def forward(self, x):
        return x[:, :1] * 0


HUGE = 1e308
LAST_CLASSES = [
    # domains whose extents overflow float64 in sampling and distances
    (lambda: kp.Rectangle((-HUGE, -HUGE), (HUGE, HUGE)), ValueError, r"Rectangle corners must lie within \+-1e\+150"),
    (lambda: kp.Interval(0, 1e200), ValueError, r"Interval corners must lie within"),
    (lambda: kp.Box((0, 0, -1e160), (1, 1, 1)), ValueError, r"Box corners.*-1e\+160"),
    (lambda: kp.TimeInterval(0, HUGE), ValueError, r"TimeInterval corners"),
    (lambda: kp.Disk((0, 0), 1e200), ValueError, r"center \+- radius must lie within"),
    (lambda: kp.Disk((1e300, 0), 1), ValueError, r"center \+- radius"),
    # negative seeds, wherever a seed is taken
    (lambda: SQUARE.sample_interior(10, seed=-1), ValueError, r"seed must be an int >= 0, got -1"),
    (lambda: SQUARE.sample_boundary(10, seed=-5), ValueError, r"seed must be an int >= 0, got -5"),
    (lambda: SQUARE.sample_interior(10, method="uniform", seed=-2), ValueError, r"seed.*-2"),
    (lambda: SQUARE.sample_interior(10, seed=1.5), TypeError, r"seed must be an int"),
    (lambda: kp.TrainConfig(seed=-1), ValueError, r"TrainConfig.seed must be an int >= 0, got -1"),
    (lambda: kp.MLP([2, 4, 1], seed=-3), TypeError, r"seed.*-3"),
    # tensors on another device: a pde building on 'meta', predict input on 'meta'
    (lambda: train(problem(pde=_meta_pde)), ValueError, r"pde raised RuntimeError.*meta.*device cpu"),
    (lambda: untrained().predict(torch.zeros(4, 2, device="meta")), ValueError, r"points must hold data.*'meta'"),
    (lambda: untrained().errors(torch.zeros(4, 2, device="meta")), ValueError, r"points.*'meta'"),
    # a residual that does not depend on u
    (lambda: train(problem(pde=lambda x, u: x[:, :1])), ValueError, r"pde residual 'pde' does not depend on u"),
    (lambda: train(problem(pde=lambda x, u: torch.ones(x.shape[0], 1, dtype=x.dtype))), ValueError,
     r"pde residual 'pde' does not depend on u"),
    (lambda: train(problem(pde=lambda x, u: x[:, :1], conditions=[kp.Dirichlet(0.0, hard=False)])), ValueError,
     r"pde residual 'pde' does not depend on u"),
    (lambda: train(problem(pde=lambda x, u: (u.laplacian(), x[:, :1] * 2))), ValueError,
     r"pde residual 'pde1' does not depend on u"),
    (lambda: train(problem(transform=lambda x, net: torch.sin(x[:, :1]), conditions=[])), ValueError,
     r"pde residual 'pde' does not depend on u.*hard constraint"),
    # a pde whose signature or parameter reads do not match the problem
    (lambda: _parameter_problem(laplace), TypeError, r"pde must be callable as pde\(x, u, p\).*laplace\(x, u\)"),
    (lambda: problem(pde=lambda x, u, p: u.laplacian()), TypeError, r"pde must be callable as pde\(x, u\).*'p'"),
    (lambda: problem(pde=lambda x: x), TypeError, r"pde must be callable as pde\(x, u\)"),
    (lambda: train(_parameter_problem(lambda x, u, p: u.laplacian() * p.kk)), ValueError,
     r"pde reads parameter 'kk'.*Pick one of \('k',\)"),
    (lambda: train(_parameter_problem(lambda x, u, p: u.laplacian() * p["q"])), ValueError,
     r"pde reads parameter 'q'.*Pick one of"),
    (lambda: train(problem(pde=lambda x, u: u.laplacian() + u.value.nope)), ValueError,
     r"pde raised AttributeError.*nope"),
    # degenerate or contradictory conditions
    (lambda: kp.Robin(0, 0), ValueError, r"Robin alpha and beta are both 0"),
    (lambda: kp.Robin(0.0, 0.0, 1.0, on="left"), ValueError, r"Robin alpha and beta"),
    (lambda: problem(conditions=[kp.Dirichlet(0.0, on="left"), kp.Dirichlet(1.0, on="left")]), ValueError,
     r"conditions contradict.*value=0.*value=1"),
    (lambda: problem(conditions=[kp.Dirichlet(0.0), kp.Dirichlet(1.0, on="top")]), ValueError,
     r"conditions contradict.*on=None.*on='top'"),
    (lambda: problem(conditions=[kp.Dirichlet(2.0, on="x_min"), kp.Dirichlet(1.0, on="left")]), ValueError,
     r"conditions contradict.*'x_min'.*'left'"),
    (lambda: problem(conditions=[kp.Dirichlet(0.0, hard=True, on=lambda x: x[:, 0] < -0.99)]), ValueError,
     r"Dirichlet\(hard=True\) cannot be built in.*on="),
    # user functions returning numpy (the convention is torch)
    (lambda: problem(exact=lambda x: np.zeros((len(x), 1))), TypeError, r"exact must return a torch tensor.*numpy"),
    (lambda: problem(exact=lambda x: [0.0] * len(x)), TypeError, r"exact must return a torch tensor.*list"),
    (lambda: untrained(problem(reference=lambda x: np.zeros(len(x)))).errors(), TypeError,
     r"reference must return a torch tensor.*kp.numpy_function"),
    (lambda: train(problem(conditions=[kp.Dirichlet(lambda x: np.zeros(len(x)), hard=False)])), TypeError,
     r"Dirichlet value must return a torch tensor"),
    # models
    (lambda: kp.KAN(None), TypeError, r"widths must be a list of layer sizes.*NoneType"),
    (lambda: kp.KAN("2,3,1"), TypeError, r"widths must be a list.*str"),
    (lambda: kp.KAN(7), TypeError, r"widths must be a list.*int"),
    (lambda: kp.KAN([2, 10 ** 9, 1]), ValueError, r"widths\[1\]=1000000000.*needs about"),
    (lambda: kp.KAN([2, 3, 10 ** 10]), ValueError, r"widths\[2\]=10000000000"),
    (lambda: kp.KAN([2, 0, 1]), ValueError, r"widths\[1\] must be an int >= 1, got 0"),
    (lambda: kp.MLP(None), TypeError, r"widths must be a list"),
    (lambda: kp.MLP([2, 10 ** 12, 1]), ValueError, r"widths\[1\]=1000000000000"),
    (lambda: train(problem(), torch.nn.Linear(3, 1)), ValueError,
     r"model cannot be evaluated.*\(N, 2\) inputs.*mat1 and mat2"),
    (lambda: train(problem(), torch.nn.Linear(2, 3)), ValueError, r"model gives shape \(8, 3\).*1 output"),
    (lambda: train(problem(), torch.nn.Identity()), ValueError, r"model has no trainable parameters \(Identity\)"),
    (lambda: train(problem(conditions=[kp.Dirichlet(0.0, hard=False)]), _NoParameters()), ValueError,
     r"model has no trainable parameters"),
    (lambda: kp.TrainConfig(dtype=torch.float16), ValueError, r"TrainConfig.dtype must be float32 or float64.*float16"),
    (lambda: kp.TrainConfig(dtype=torch.bfloat16), ValueError, r"TrainConfig.dtype.*Pick one of"),
    (lambda: kp.TrainConfig(dtype="half"), ValueError, r"unknown TrainConfig.dtype 'half'. Pick one of"),
    # config
    (lambda: kp.TrainConfig(schedule=kp.Adam(5)), TypeError, r"TrainConfig.schedule must be a list.*one Adam"),
    (lambda: kp.TrainConfig(schedule=kp.LBFGS(5)), TypeError, r"TrainConfig.schedule.*\[LBFGS"),
    (lambda: kp.TrainConfig(schedule=kp.LM(5)), TypeError, r"TrainConfig.schedule.*LM"),
    # inputs
    (lambda: untrained().predict(np.zeros((4, 2), dtype=complex)), TypeError, r"points must be real.*complex128"),
    (lambda: untrained().predict(torch.zeros(4, 2, dtype=torch.complex64)), TypeError, r"points must be real"),
    (lambda: untrained().predict([[0j, 0j]]), TypeError, r"points"),
    (lambda: untrained().save(""), ValueError, r"path must name a file.*''"),
    (lambda: untrained().save(None), TypeError, r"path must be a file path.*NoneType"),
    (lambda: untrained().save("somewhere/"), ValueError, r"path must name a file.*'somewhere/'"),
]
LAST_IDS = _ids(LAST_CLASSES, "last")


@pytest.mark.parametrize("make, error, pattern", LAST_CLASSES, ids=LAST_IDS)
def test_the_last_classes_of_bad_input_are_named(make, error, pattern):
    with pytest.raises(error) as excinfo:
        make()
    _check(excinfo, pattern)


def test_export_sizes_are_refused_before_allocation(tmp_path):
    solution = untrained()
    for resolution, pattern in [(10 ** 7, r"resolution=10000000 \(1e\+14 mesh points\) needs about"),
                                ((10 ** 6, 10 ** 6), r"resolution=\(1000000, 1000000\)"),
                                ((2, 10 ** 13), r"resolution=\(2, 10000000000000\)")]:
        with pytest.raises(ValueError) as excinfo:
            kp.export_solution(solution, tmp_path / "big.vtu", resolution=resolution)
        _check(excinfo, pattern)
    assert not list(tmp_path.iterdir())  # nothing written, nothing half-written
    with pytest.raises(ValueError, match=r"path must name a file|'\.'|suffix|extension"):
        kp.export_solution(solution, "", resolution=4)


def test_a_folder_is_not_a_checkpoint_path(tmp_path):
    with pytest.raises(ValueError, match=r"path must name a file.*an existing folder"):
        untrained().save(tmp_path)
    assert untrained().save(tmp_path / "ok.pt").exists()


@settings(max_examples=25, deadline=None)
@given(extent=st.floats(min_value=1.0000001e150, max_value=1.7e308), axis=st.integers(0, 1))
def test_any_extent_beyond_the_coordinate_limit_is_refused(extent, axis):
    hi = [1.0, 1.0]
    hi[axis] = extent
    with pytest.raises(ValueError, match=r"Rectangle corners must lie within"):
        kp.Rectangle((0, 0), hi)


@settings(max_examples=10, deadline=None)
@given(extent=st.floats(min_value=1e-6, max_value=1e150))
def test_extents_up_to_the_limit_sample_finite_points(extent):
    points = kp.Rectangle((-extent, -extent), (extent, extent)).sample_interior(16, seed=0)
    assert np.isfinite(points).all() and np.abs(points).max() <= extent


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(max_value=-1), where=st.sampled_from(["interior", "boundary", "config", "kan"]))
def test_any_negative_seed_is_refused_naming_seed(seed, where):
    make = {"interior": lambda: SQUARE.sample_interior(4, seed=seed),
            "boundary": lambda: SQUARE.sample_boundary(4, seed=seed),
            "config": lambda: kp.TrainConfig(seed=seed),
            "kan": lambda: kp.KAN([2, 3, 1], seed=seed)}[where]
    with pytest.raises(ValueError, match=rf"seed must be an int >= 0, got {seed}"):
        make()


@settings(max_examples=15, deadline=None)
@given(alpha=st.sampled_from([0, 0.0, -0.0, np.float64(0)]), beta=st.sampled_from([0, 0.0, -0.0, np.int64(0)]))
def test_any_zero_robin_pair_is_refused(alpha, beta):
    with pytest.raises(ValueError, match=r"Robin alpha and beta are both 0"):
        kp.Robin(alpha, beta, 1.0)


@settings(max_examples=15, deadline=None)
@given(dtype=st.sampled_from([torch.float16, torch.bfloat16, "float16", "bfloat16", torch.int32, torch.complex64]))
def test_any_dtype_other_than_float32_or_64_is_refused(dtype):
    with pytest.raises((TypeError, ValueError), match=r"TrainConfig.dtype"):
        kp.TrainConfig(dtype=dtype)


@pytest.mark.filterwarnings("ignore:Dirichlet conditions on several sides")  # intended here; test_constraints asserts it
@settings(max_examples=10, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5))
def test_dirichlet_values_that_agree_or_sides_that_only_touch_are_accepted(a, b):
    """Corners shared by two sides are no contradiction (the lid-driven cavity has them); equal values agree."""
    prob = problem(conditions=[kp.Dirichlet(a, on="top"), kp.Dirichlet(b, on="left"), kp.Dirichlet(b, on="x_min"),
                               kp.Dirichlet(0.0, on="bottom"), kp.Dirichlet(0.0, on="right")])
    assert len(prob.all_conditions) == 5


def test_documented_results_that_stay_valid():
    """Inputs near the refused ones that are correct and keep their result: a pde reading every parameter, an
    LBFGS stage refining to grid 1 under a hard constraint, float16 points to predict, a robin with one zero."""
    prob = _parameter_problem(lambda x, u, p: u.laplacian() * p.k + p["k"] - 1)
    solution = train(prob)
    assert set(solution.parameters) == {"k"} and math.isfinite(solution.parameters["k"])
    hard = train(problem(), schedule=[kp.LBFGS(2, grid=1)])
    assert hard.network.grid == 1 and np.isfinite(hard.predict(np.zeros((3, 2)))).all()
    assert untrained().predict(torch.zeros(3, 2, dtype=torch.float16)).dtype == torch.float64
    assert isinstance(kp.Robin(0.0, 1.0), kp.Robin) and isinstance(kp.Robin(1.0, 0.0), kp.Robin)
    assert kp.TrainConfig(dtype="float32").dtype == torch.float32
    assert kp.Rectangle((-1e150, -1e150), (1e150, 1e150)).dim == 2


def test_concurrent_xdmf_writers_are_covered_in_test_files():
    """The concurrency class (two processes exporting one .xdmf) is tested in tests/test_files.py."""
    text = (ROOT / "tests" / "test_files.py").read_text()
    assert "def test_two_processes_exporting_one_xdmf_leave_no_stray_h5(" in text and "no stray .h5" in text


LAST_CLI = [
    (lambda tmp: ["solve", "poisson2d", "--seed", "-1"], r"seed must be an int >= 0, got -1"),
    (lambda tmp: ["export", str(_saved(tmp, problem(name="square"))), str(tmp / "a.vtu"), "--problem",
                  str(_problem_file(tmp)), "--resolution", "10000000"], r"resolution=10000000.*needs about"),
    (lambda tmp: ["export", str(_saved(tmp, problem(name="square"))), str(tmp / "out") + "/", "--problem",
                  str(_problem_file(tmp))], r"extension ''.*Pick one of"),
]


@pytest.mark.parametrize("argv, pattern", LAST_CLI, ids=_ids(LAST_CLI, "last_cli"))
def test_cli_last_classes_are_one_error_line(argv, pattern, tmp_path, capsys, monkeypatch):
    test_cli_bad_input_is_one_error_line(argv, pattern, tmp_path, capsys, monkeypatch)
