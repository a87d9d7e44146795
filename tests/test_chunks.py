"""Bounded-memory evaluation: predict, errors and export in chunks equal one batch."""

import meshio
import numpy as np
import pytest
import torch

import kanpde as kp
from conftest import poisson_problem
from kanpde.pde.metrics import chunks, relative_l2


@pytest.fixture(scope="module")
def solution():
    torch.manual_seed(0)
    return kp.Solution(poisson_problem(), kp.KAN([2, 3, 1], grid=4, seed=0).double())


def test_chunks_cover_range_and_reject_bad_sizes():
    assert [(s.start, s.stop) for s in chunks(7, 3)] == [(0, 3), (3, 6), (6, 7)]
    assert list(chunks(0, 5)) == []
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="chunk_size"):
            list(chunks(4, bad))


def test_chunked_predict_equals_unchunked(solution):
    x = np.random.default_rng(1).uniform(-1, 1, (1001, 2))
    whole = solution.predict(x, chunk_size=10_000)
    for size in (13, 1000):
        np.testing.assert_allclose(solution.predict(x, chunk_size=size), whole, rtol=1e-13, atol=1e-15)
    xt = torch.as_tensor(x)
    torch.testing.assert_close(solution.predict(xt, chunk_size=64), torch.as_tensor(whole), rtol=1e-13, atol=1e-15)
    assert solution.predict(np.zeros((0, 2))).shape == (0, 1)


def test_predict_names_points_outside_in_any_chunk(solution):
    x = np.zeros((10, 2))
    x[[3, 8]] = 5.0
    with pytest.raises(ValueError, match="2 of 10 points lie outside"):
        solution.predict(x, chunk_size=4)


def test_chunked_errors_equal_one_batch(solution):
    points, _ = kp.pde.evaluation_points(solution.problem.domain, target=900)
    one = solution.errors(points, chunk_size=len(points))
    many = solution.errors(points, chunk_size=97)
    assert one.keys() == many.keys() == {"rel_l2", "max_abs", "rel_h1"}
    for key in one:
        assert many[key] == pytest.approx(one[key], rel=1e-12)
    x = torch.as_tensor(points)
    u = solution.predict(x, check_domain=False)
    assert one["rel_l2"] == pytest.approx(relative_l2(u, solution.problem.exact(x)), rel=1e-12)


def test_chunked_export_equals_one_batch(solution, tmp_path):
    a = kp.export_solution(solution, tmp_path / "a.vtu", resolution=23, residual=True, chunk_size=10_000)
    b = kp.export_solution(solution, tmp_path / "b.vtu", resolution=23, residual=True, chunk_size=50)
    ma, mb = meshio.read(a), meshio.read(b)
    assert set(ma.point_data) == {"u", "u_exact", "error", "residual"}
    for name in ma.point_data:
        np.testing.assert_allclose(mb.point_data[name], ma.point_data[name], rtol=1e-12, atol=1e-12)
