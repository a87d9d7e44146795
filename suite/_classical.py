"""The classical reference row of a suite problem: a finite-element solve, timed, with its rel L2 on the
same dense evaluation set as the KAN's ``errors()``."""

import time

import numpy as np
import torch

from kanpde.pde.metrics import evaluation_points


def fem_row(problem, label: str, solve) -> dict:
    """Run ``solve()`` (returning a ``kp.fem`` solution) and measure it against ``problem.exact``."""
    started = time.perf_counter()
    fem = solve()
    seconds = time.perf_counter() - started
    points, _ = evaluation_points(problem.domain)
    exact = problem.exact(torch.as_tensor(points, dtype=torch.float64)).numpy()[:, 0]
    error = float(np.linalg.norm(fem.interpolate(points) - exact) / np.linalg.norm(exact))
    return {"method": label, "seconds": seconds, "dofs": int(fem.dofs), "rel_l2": error}
