"""Fisher-KPP reaction-diffusion with its travelling-wave solution.

    u_t = u_xx + u (1 - u)   on x in [-5, 5], t in [0, 2]
    u = (1 + exp(x / sqrt(6) - 5 t / 6))^(-2),   Dirichlet u = exact at x = -5, 5, u(x, 0) = exact

Source: M. J. Ablowitz, A. Zeppetella, "Explicit solutions of Fisher's equation for a special wave speed",
Bull. Math. Biol. 41 (1979) 835-840.
"""

import math

import torch

import kanpde as kp

from suite._data import boundary_data

FAMILY, TARGET = "reaction-diffusion", 1e-4


def exact(x):
    return (1 + torch.exp(x[:, 0:1] / math.sqrt(6) - 5 * x[:, 1:2] / 6)) ** -2


DATA = boundary_data(exact, lambda x: (25 - x[:, 0:1]**2) * x[:, 1:2] / 50)  # = exact at x = -5, 5 and t = 0 only


def pde(x, u):
    return u.d("t") - u.d("x", "x") - u.value * (1 - u.value)


problem = kp.Problem(kp.Interval(-5, 5) * kp.TimeInterval(0, 2), pde,
                     [kp.Dirichlet(DATA), kp.Initial(DATA)], exact=exact, name="reaction_diffusion")
