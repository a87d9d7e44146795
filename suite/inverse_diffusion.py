"""An inverse coefficient problem: the diffusivity D from noisy measurements.

    -D Laplacian u = f   on [0, 1]^2,   u = 0 on the boundary,   f = 2 pi^2 D* sin(pi x) sin(pi y)
    D* = 0.7 (unknown, initial guess 1); 200 measurements of u = sin(pi x) sin(pi y) with 1 % noise

Source: the diffusion-coefficient inverse problems of Raissi, Perdikaris & Karniadakis, "Physics-informed
neural networks", J. Comput. Phys. 378 (2019), and DeepXDE's examples/pinn_inverse.
"""

import math

import numpy as np
import torch

import kanpde as kp

FAMILY, TARGET = "inverse", 1e-3
PI, D_TRUE = math.pi, 0.7


def exact(x):
    return torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])


def pde(x, u, p):
    return -p["D"] * u.laplacian() - 2 * PI**2 * D_TRUE * exact(x)


rng = np.random.default_rng(0)
points = rng.uniform(0.05, 0.95, size=(200, 2))
clean = exact(torch.as_tensor(points)).numpy()[:, 0]
measured = clean * (1 + 0.01 * rng.standard_normal(len(clean)))
problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0), kp.Data(points, measured)],
                     exact=exact, parameters={"D": 1.0}, name="inverse_diffusion")


def reference_errors(solution) -> dict:
    """The field's errors plus the coefficient's relative error."""
    errors = solution.errors()
    return {**errors, "D": {"value": solution.parameters["D"], "rel_err": abs(solution.parameters["D"] - D_TRUE) / D_TRUE}}
