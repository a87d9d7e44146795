"""New domains (Polygon, Triangle, Ellipse, Ball, CSG): samples, normals, areas, sides, distance functions."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.pde.constraints import HardDirichlet, boundary_factor
from kanpde.geometry.distance import adf, signed_adf
from kanpde.geometry.domains import METHODS

L_SHAPE = [(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)]


def make_domains():
    square, hole = kp.Rectangle((-1, -1), (1, 1)), kp.Disk((0, 0), 0.4)
    return {
        "lshape": (kp.Polygon(L_SHAPE), 3.0),
        "lshape_cw": (kp.Polygon(L_SHAPE[::-1]), 3.0),
        "triangle": (kp.Triangle((0, 0), (2, 0), (0.5, 1)), 1.0),
        "ellipse": (kp.Ellipse((0.5, 0), (2, 1)), 2 * math.pi),
        "ball": (kp.Ball((0, 0, 1), 0.5), 4 / 3 * math.pi * 0.125),
        "plate": (square - hole, 4 - math.pi * 0.16),
        "union": (square | kp.Disk((1, 0), 0.5), 4 + math.pi * 0.125),
        "intersection": (square & kp.Disk((1, 1), 1.0), math.pi / 4),
        "poly_minus_ellipse": (kp.Polygon(L_SHAPE) - kp.Ellipse((-0.5, 0.5), (0.3, 0.2)), 3 - math.pi * 0.06),
        "box3_minus_ball": (kp.Box((0, 0, 0), (1, 1, 1)) - kp.Ball((1, 1, 1), 0.5), 1 - math.pi / 48),
    }


DOMAINS = make_domains()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", DOMAINS)
def test_samples_inside_and_on_boundary(key, method):
    domain, _ = DOMAINS[key]
    for seed in range(3):
        x = domain.sample_interior(64, method, seed)
        assert x.shape == (64, domain.dim) and domain.contains(x).all()
        b = domain.sample_boundary(64, method, seed)
        assert b.shape == (64, domain.dim)
        assert domain.on_boundary(b, tol=1e-12).all()


@pytest.mark.parametrize("key", DOMAINS)
def test_normals_unit_and_outward(key):
    """Outward: the normal is minus the normalised finite-difference gradient of the signed distance."""
    domain, _ = DOMAINS[key]
    b = domain.sample_boundary(200, "halton", 1)
    n = domain.normals(b)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    phi, h = signed_adf(domain), 1e-6
    x = torch.as_tensor(b)
    grad = torch.stack([(phi(x + h * e) - phi(x - h * e))[:, 0] / (2 * h)
                        for e in torch.eye(domain.dim, dtype=torch.float64)], dim=1).numpy()
    grad /= np.linalg.norm(grad, axis=1, keepdims=True)
    cosine = (n * -grad).sum(axis=1)
    assert np.quantile(cosine, 0.98) > 1 - 1e-6 and cosine.min() > 0.5  # corners aside, exactly aligned


@pytest.mark.parametrize("key", DOMAINS)
def test_volume_estimates_converge(key):
    domain, exact = DOMAINS[key]
    assert domain.volume == pytest.approx(exact, rel=2e-3)
    lo, hi = domain.bounds
    box = kp.Box(lo, hi)
    errors = [abs(box.volume * domain.contains(box.sample_interior(n, "sobol", 0)).mean() - exact) / exact
              for n in (2 ** 10, 2 ** 16)]
    assert errors[1] < max(errors[0] / 4, 2e-3), errors


def test_csg_matches_analytic_shapes():
    plate, _ = DOMAINS["plate"]
    union, _ = DOMAINS["union"]
    inter, _ = DOMAINS["intersection"]
    x = kp.Box((-2, -2), (2, 2)).sample_interior(4000, "uniform", 3)
    r, r1, r11 = (np.hypot(x[:, 0] - cx, x[:, 1] - cy) for cx, cy in ((0, 0), (1, 0), (1, 1)))
    sq = np.all(np.abs(x) <= 1, axis=1)
    assert np.array_equal(plate.contains(x), sq & (r >= 0.4))
    assert np.array_equal(union.contains(x), sq | (r1 <= 0.5))
    assert np.array_equal(inter.contains(x), sq & (r11 <= 1))
    hole = plate.sample_boundary(500, "sobol", 0, side="disk")
    assert np.allclose(np.hypot(*hole.T), 0.4, atol=1e-14)
    assert np.allclose(plate.normals(hole), -hole / 0.4, atol=1e-12)   # the hole's normal points into the hole
    # the union's boundary: the square outside the disk and the half circle outside the square
    b = union.sample_boundary(20000, "sobol", 0)
    assert np.mean(b[:, 0] > 1) == pytest.approx(math.pi * 0.5 / (7 + math.pi * 0.5), abs=0.01)


def test_sides():
    plate, _ = DOMAINS["plate"]
    assert set(plate.side_names) >= {"left", "right", "top", "bottom", "disk"}
    left = plate.sample_boundary(100, "sobol", 0, side="left")
    assert np.allclose(left[:, 0], -1) and plate.side("left")(left).all()
    assert not plate.side("disk")(left).any()
    poly = kp.Polygon(L_SHAPE, sides={"corner": [1, 2]})
    c = poly.sample_boundary(100, "sobol", 0, side="corner")
    assert np.all((np.isclose(c[:, 0], 0) & (c[:, 1] <= 0)) | (np.isclose(c[:, 1], 0) & (c[:, 0] >= 0)))
    with pytest.raises(ValueError, match="Pick one of"):
        plate.sample_boundary(10, side="hole")


def test_space_time_products():
    for key in ("lshape", "plate", "ellipse"):
        st = DOMAINS[key][0] * kp.TimeInterval(0, 2)
        x, b = st.sample_interior(100, "sobol", 0), st.sample_boundary(100, "sobol", 0)
        assert st.contains(x).all() and st.on_boundary(b).all() and np.allclose(st.normals(b)[:, -1], 0)


ADF_CASES = [("lshape", None), ("plate", None), ("plate", ["disk"]), ("plate", ["left", "top"]),
             ("union", None), ("intersection", None), ("ellipse", None), ("ball", None), ("triangle", ["edge_1"]),
             ("poly_minus_ellipse", None), ("box3_minus_ball", None)]


@pytest.mark.parametrize("key,sides", ADF_CASES)
def test_adf_zero_on_its_pieces_positive_inside(key, sides):
    domain, _ = DOMAINS[key]
    phi = adf(domain, sides)
    pieces = [None] if sides is None else sides
    for side in pieces:
        b = torch.as_tensor(domain.sample_boundary(200, "sobol", 0, side=side))
        assert phi(b).abs().max() < 1e-12
    x = domain.sample_interior(500, "sobol", 1)
    x = x[~domain.on_boundary(x, tol=1e-6)]
    assert (phi(torch.as_tensor(x)) > 0).all()


@pytest.mark.parametrize("key", ["lshape", "plate", "union"])
def test_hard_dirichlet_jet_equals_autograd(key):
    domain, _ = DOMAINS[key]
    torch.manual_seed(0)
    net = kp.KAN([2, 5, 1], grid=5, seed=0).double()
    model = HardDirichlet(net, domain, lambda x: torch.sin(x[:, :1]) + x[:, 1:] ** 2)
    x = torch.as_tensor(domain.sample_interior(50, "sobol", 2))
    x = x[torch.as_tensor(~domain.on_boundary(x.numpy(), tol=1e-6))]
    pairs = [(0, 0), (0, 1), (1, 1)]
    jet = model.jet(x, pairs)
    z = x.clone().requires_grad_(True)
    u = model(z)
    g = torch.autograd.grad(u.sum(), z, create_graph=True)[0]
    second = torch.stack([torch.autograd.grad(g[:, a].sum(), z, retain_graph=True)[0][:, b] for a, b in pairs], 1)
    assert torch.allclose(jet.value, u, atol=1e-10, rtol=0)
    assert torch.allclose(jet.grad[:, 0], g, atol=1e-10, rtol=0)
    assert torch.allclose(jet.second[:, 0], second, atol=1e-10, rtol=0)
    assert boundary_factor(domain)(torch.as_tensor(domain.sample_boundary(50, "sobol", 0))).abs().max() < 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="simple polygon"):
        kp.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(ValueError, match="m >= 3"):
        kp.Polygon([(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="semi_axes"):
        kp.Ellipse((0, 0), (1, -1))
    with pytest.raises(ValueError, match="equal dimension"):
        kp.Rectangle((0, 0), (1, 1)) | kp.Ball((0, 0, 0), 1)
    with pytest.raises(TypeError, match="Domain"):
        kp.Rectangle((0, 0), (1, 1)) - 3
    with pytest.raises(ValueError, match="partly inside"):
        DOMAINS["union"][0].adf(["right"])


def test_plot_domain():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    plate, _ = DOMAINS["plate"]
    assert kp.plotting.plot_domain(plate, ax=ax, n=200) is ax
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"interior", "disk", "left"} <= labels
    with pytest.raises(ValueError, match="2-D"):
        kp.plotting.plot_domain(DOMAINS["ball"][0])


@pytest.mark.slow
def test_plate_with_hole_kan_accuracy():
    """Acceptance: the recommended configuration reaches rel L2 <= 1e-4 on the plate with a hole (hard Dirichlet
    through the R-function distance function of the CSG domain)."""
    import dataclasses
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import problems

    module = problems.get("poisson_plate_hole")
    torch.set_num_threads(2)
    config = dataclasses.replace(module.config(), seed=0, verbose=False)
    solution = kp.solve(module.problem().with_hard_dirichlet(), kp.KAN([2, 10, 1], grid=5, seed=0), config)
    assert solution.errors()["rel_l2"] <= 1e-4


@pytest.mark.slow
def test_lshape_kan_accuracy():
    """Acceptance: the recommended L-shape setup (the corner singular function as a network input, LM over grids
    5 -> 40) reaches rel L2 <= 1e-3 against r^(2/3) sin(2θ/3) (seed 0 measured 1.9e-4; seeds 1, 2: 9.3e-4, 2.9e-4)."""
    import dataclasses
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import problems

    module = problems.get("poisson_lshape")
    torch.set_num_threads(2)
    config = dataclasses.replace(module.config(), seed=0, verbose=False)
    solution = kp.solve(module.problem(), module.model(0), config)
    assert solution.errors()["rel_l2"] <= 1e-3


def test_geometry_guide_example_runs(monkeypatch, tmp_path):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    guide = (root / "docs" / "guide" / "domains.md").read_text()   # the geometry tour moved from the README
    code = re.findall(r"```python\n(.*?)```", guide, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "problems" / "data").mkdir(parents=True)
    (tmp_path / "problems" / "data" / "bracket.msh").write_bytes((root / "problems/data/bracket.msh").read_bytes())
    scope = {}
    exec(compile(code, "docs/guide/domains.md block", "exec"), scope)
    u = scope["fem"].nodal_values()
    assert (tmp_path / "plate_fem.vtu").exists() and u.max() <= 1e-12 and u.min() < 0   # Δu = 1 > 0, u = 0: u < 0
    assert scope["problem"].hard and scope["bracket"].side_names == ("bottom", "tip", "wall")
