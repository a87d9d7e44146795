"""Observed L2 orders of the FEM baseline: a smooth solution on the unit square and on the L-shape polygon
(P1: 2, P2: 3 expected), and the singular L-shape problem (about 4/3 for both).

Usage: python scripts/fem_convergence.py [--hs 0.2 0.1 0.05 0.025]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402


def smooth(x):
    return np.sin(np.pi * x[:, 0]) * np.exp(x[:, 1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hs", nargs="+", type=float, default=[0.2, 0.1, 0.05, 0.025])
    args = parser.parse_args(argv)
    lshape = problems.get("poisson_lshape")
    cases = {
        "smooth, square": lambda h, p: kp.fem.poisson(kp.Rectangle((0, 0), (1, 1)), lambda x: (1 - np.pi ** 2) * smooth(x),
                                                      smooth, h=h, order=p),
        "smooth, L-shape": lambda h, p: kp.fem.poisson(lshape.domain(), lambda x: (1 - np.pi ** 2) * smooth(x),
                                                       smooth, h=h, order=p),
        "singular, L-shape": lambda h, p: lshape.fem_solution(h=h, order=p),
    }
    exact = {"smooth, square": smooth, "smooth, L-shape": smooth, "singular, L-shape": lshape.exact}
    out = {}
    print(f"{'case':20s} {'P':>2s} " + " ".join(f"{'h=' + str(h):>10s}" for h in args.hs) + "   order (finest pair)")
    for name, solve in cases.items():
        for order in (1, 2):
            sols = [solve(h, order) for h in args.hs]
            errors = [s.l2_error(exact[name]) for s in sols]
            rate = float(np.log(errors[-2] / errors[-1]) / np.log(sols[-2].h / sols[-1].h))
            out[(name, order)] = rate
            print(f"{name:20s} {order:2d} " + " ".join(f"{e:10.2e}" for e in errors) + f"   {rate:.2f}", flush=True)
    return out


if __name__ == "__main__":
    main()
