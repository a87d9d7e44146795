"""scripts/fronts.py: the benchmark page is built from the JSON rows the runs write, and the knots drawn in x are
where each network input crosses its knots."""

import json
import math

import numpy as np
import torch

from conftest import load_script

import kanpde as kp


def test_page_lists_every_run_with_its_seconds_and_the_records(tmp_path):
    fronts = load_script("fronts")
    for seed, error in ((0, 3e-5), (1, 7e-5)):
        row = {"problem": "allen_cahn1d", "mode": "recommended", "seed": seed, "aid": "known seam part",
               "rel_l2": error, "max_abs": 1e-4, "wall_seconds": 900.0 + seed, "cpu_seconds": 440.0,
               "threads": 1, "load_average": [5.0, 7.5], "hardware": "some CPU, 2 cores", "windows": 4,
               "points": 6000}
        (tmp_path / f"allen_cahn1d_recommended_seed{seed}.json").write_text(json.dumps(row))
    text = fronts.page(tmp_path)
    line = next(x for x in text.splitlines() if x.startswith("| allen_cahn1d | recommended"))
    assert "3.00e-05 / 7.00e-05" in line and "| 7.00e-05 |" in line and "| 901 |" in line and "| 7.5 |" in line
    assert "Toscano" in text and "(no runs" not in text


def test_knots_in_x_of_the_periodic_embedding_and_of_x_itself():
    fronts = load_script("fronts")
    xs = np.linspace(-1, 1, 2001)
    net = kp.KAN([2, 1], grid=4, seed=0).double()     # inputs (x, t) on [-1, 1]: knots at -1, -0.5, .., 1
    knots = fronts.knots_in_x(net, lambda x: x, 0.5, xs)
    assert np.allclose(knots, [-1, -0.5, 0, 0.5, 1], atol=1e-6)
    embedded = lambda x: torch.stack([torch.cos(np.pi * x[:, 0]), x[:, 1]], 1)  # noqa: E731
    knots = fronts.knots_in_x(net, embedded, 0.5, xs)  # cos(pi x) = -0.5: x = +-2/3; = 0.5: x = +-1/3; ...
    assert np.allclose(knots, [-1, -2 / 3, -0.5, -1 / 3, 0, 1 / 3, 0.5, 2 / 3, 1], atol=1e-5)


def test_window_residuals_list_each_kept_windows_span_and_held_out_residual():
    fronts = load_script("fronts")
    problem = kp.Problem(kp.Interval(0, 1) * kp.TimeInterval(0, 0.2), lambda x, u: u.d("t") - 0.1 * u.d("x", "x"),
                         [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))])
    config = kp.TrainConfig(schedule=[kp.Adam(3), kp.LM(2)], interior_points=60, boundary_points=10, verbose=False,
                            marching=kp.TimeMarching(2, keep_best=True, warm_start=False))
    solution = kp.solve(problem, kp.KAN([2, 3, 1], grid=4, seed=0), config)
    rows = fronts.window_residuals(solution)
    assert [r["span"] for r in rows] == [[0.0, 0.1], [0.1, 0.2]]
    assert all(r["validation"] is not None and r["validation"] >= 0 for r in rows)
