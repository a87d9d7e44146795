"""Tests for kangeometry.domains: sampling, predicates, normals, sides, grids, errors."""

import math
import re
import warnings

import numpy as np
import pytest

from kanpde.geometry.domains import (
    METHODS,
    Box,
    Disk,
    Domain,
    Interval,
    Rectangle,
    SpaceTime,
    TimeInterval,
)

SEEDS = range(10)


def make_domains():
    return {
        "interval": Interval(-1.0, 2.0),
        "rectangle": Rectangle((-1, 0), (1, 3)),
        "box3": Box((0, 0, 0), (1, 2, 3)),
        "box4": Box((0, -1, 0, 0), (1, 1, 0.5, 2)),
        "disk": Disk((0.5, -1.0), 2.0),
        "time": TimeInterval(0.0, 1.5),
        "interval_t": Interval(0, 1) * TimeInterval(0, 2),
        "rectangle_t": Rectangle((-1, -1), (1, 1)) * TimeInterval(1, 3),
        "box3_t": Box((0, 0, 0), (1, 1, 2)) * TimeInterval(0, 1),
        "disk_t": Disk((0, 0), 1.0) * TimeInterval(0, 0.5),
    }


DOMAINS = make_domains()


def scale(domain):
    lo, hi = domain.bounds
    return float(np.max(hi - lo))


# ---------------------------------------------------------------------------
# sampled points lie where they should


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", DOMAINS)
def test_samples_inside_and_on_boundary(key, method):
    domain = DOMAINS[key]
    for seed in SEEDS:
        for n in (1, 37, 64):
            x = domain.sample_interior(n, method, seed)
            assert x.shape == (n, domain.dim) and x.dtype == np.float64
            assert domain.contains(x).all()
            b = domain.sample_boundary(n, method, seed)
            assert b.shape == (n, domain.dim) and b.dtype == np.float64
            assert domain.on_boundary(b).all()
            assert domain.contains(b).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", DOMAINS)
def test_normals_unit_and_outward(key, method):
    domain = DOMAINS[key]
    eps = 1e-6 * scale(domain)
    for seed in SEEDS:
        b = domain.sample_boundary(50, method, seed)
        nrm = domain.normals(b)
        assert nrm.shape == b.shape
        np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, rtol=1e-12)
        assert not domain.contains(b + eps * nrm).any()
        assert domain.contains(b - eps * nrm).all()
        if domain.time_axis is not None and domain.dim > 1:
            assert np.all(nrm[:, domain.time_axis] == 0.0)


def test_reproducible_seeds_and_distinct_seeds():
    domain = DOMAINS["rectangle_t"]
    for method in METHODS:
        a = domain.sample_interior(33, method, seed=7)
        np.testing.assert_array_equal(a, domain.sample_interior(33, method, seed=7))
        np.testing.assert_array_equal(domain.sample_boundary(33, method, 7), domain.sample_boundary(33, method, 7))
        if method != "grid":
            assert not np.array_equal(a, domain.sample_interior(33, method, seed=8))


def test_sobol_balance_warning_is_silenced():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DOMAINS["box3"].sample_interior(10, "sobol", seed=0)
        DOMAINS["box3"].sample_boundary(10, "sobol", seed=0)


def test_interior_samples_are_uniform_in_a_box():
    box = Box((0, 0, 0), (1, 2, 4))
    for method in ("uniform", "sobol", "halton", "lhs"):
        x = box.sample_interior(4096, method, seed=3)
        # every axis: half of the points below the mid-plane
        np.testing.assert_allclose(np.mean(x < np.array([0.5, 1.0, 2.0]), axis=0), 0.5, atol=0.04)


def test_grid_method_is_a_regular_grid():
    rect = Rectangle((0, 0), (1, 2))
    x = rect.sample_interior(16, "grid")
    np.testing.assert_allclose(np.unique(x[:, 0]), [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(np.unique(x[:, 1]), [0.25, 0.75, 1.25, 1.75])
    assert len(np.unique(x, axis=0)) == 16
    # n that is not a perfect power: exactly n distinct strictly interior points
    x = rect.sample_interior(10, "grid")
    assert x.shape == (10, 2) and len(np.unique(x, axis=0)) == 10
    assert not rect.on_boundary(x).any()
    x = Box((0,) * 3, (1,) * 3).sample_interior(27, "grid")
    assert all(len(np.unique(x[:, i])) == 3 for i in range(3))


# ---------------------------------------------------------------------------
# Box boundary


def test_box_boundary_face_frequencies_proportional_to_area():
    box = Box((0, 0, 0), (1, 2, 3))
    areas = np.array([6, 6, 3, 3, 2, 2], dtype=float)
    expected = areas / areas.sum()
    n = 6000
    faces = ["x_min", "x_max", "y_min", "y_max", "z_min", "z_max"]
    for method, atol in (("sobol", 0.005), ("halton", 0.005), ("lhs", 0.005), ("uniform", 0.03), ("grid", 1e-3)):
        b = box.sample_boundary(n, method, seed=1)
        # count each point once, by its normal (nearest face)
        nrm = box.normals(b)
        face = np.argmax(np.abs(nrm), axis=1) * 2 + (nrm.max(axis=1) > 0)
        freq = np.bincount(face, minlength=6) / n
        np.testing.assert_allclose(freq, expected, atol=atol, err_msg=method)
        # and every face is hit, seen through the side predicates too
        assert all(box.side(f)(b).any() for f in faces)


def test_box_boundary_uniform_within_a_face():
    rect = Rectangle((0, 0), (4, 1))
    b = rect.sample_boundary(4000, "sobol", seed=0, side="bottom")
    assert np.all(b[:, 1] == 0.0)
    np.testing.assert_allclose(np.mean(b[:, 0] < 1.0), 0.25, atol=0.01)


def test_interval_boundary_alternates():
    iv = Interval(-1, 2)
    for method in METHODS:
        b = iv.sample_boundary(5, method, seed=0)
        np.testing.assert_array_equal(b[:, 0], [-1, 2, -1, 2, -1])
    np.testing.assert_array_equal(iv.normals(np.array([[-1.0], [2.0]]))[:, 0], [-1.0, 1.0])


def test_corner_normal_is_consistent():
    rect = Rectangle((0, 0), (1, 1))
    corners = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    nrm = rect.normals(corners)
    # ties go to the first face in x_min, x_max, y_min, y_max order
    np.testing.assert_array_equal(nrm, [[-1, 0], [1, 0], [-1, 0]])
    # near a corner, the nearest face wins
    np.testing.assert_array_equal(rect.normals(np.array([[1e-12, 0.0]])), [[0, -1]])


# ---------------------------------------------------------------------------
# Disk


@pytest.mark.parametrize("method", ["uniform", "sobol", "halton", "lhs", "grid"])
def test_disk_interior_area_uniform(method):
    disk = Disk((1.0, -2.0), 3.0)
    x = disk.sample_interior(4096, method, seed=5)
    r = np.linalg.norm(x - disk.center, axis=1)
    atol = 0.03 if method == "uniform" else 0.01
    assert abs(np.mean(r < 1.5) - 0.25) < atol
    assert abs(np.mean(r < 3.0 / math.sqrt(2)) - 0.5) < atol
    assert abs(np.mean(x[:, 0] > 1.0) - 0.5) < atol
    assert abs(np.mean(x[:, 1] > -2.0) - 0.5) < atol


def test_disk_boundary_uniform_in_angle():
    disk = Disk((0, 0), 2.0)
    b = disk.sample_boundary(1000, "sobol", seed=0)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 2.0, rtol=1e-12)
    quadrant = (b[:, 0] > 0) * 2 + (b[:, 1] > 0)
    np.testing.assert_allclose(np.bincount(quadrant) / 1000, 0.25, atol=0.01)
    np.testing.assert_allclose(disk.normals(b), b / 2.0, atol=1e-12)


def test_disk_grid_points_inside():
    disk = Disk((0, 0), 1.0)
    pts, shape = disk.grid(21)
    assert shape is None
    assert disk.contains(pts).all()
    full, _ = Rectangle((-1, -1), (1, 1)).grid(21)
    assert len(pts) == int(np.sum(np.linalg.norm(full, axis=1) <= 1 + 1e-10))
    assert disk.grid((5, 7))[0].shape[1] == 2


# ---------------------------------------------------------------------------
# space-time


@pytest.mark.parametrize("key", ["interval_t", "rectangle_t", "box3_t", "disk_t"])
def test_spacetime_boundary_and_initial(key):
    st = DOMAINS[key]
    assert st.time_axis == st.dim - 1 and st.spatial_axes == tuple(range(st.dim - 1))
    assert st.names[-1] == "t"
    for method in METHODS:
        for seed in SEEDS:
            b = st.sample_boundary(40, method, seed)
            assert np.all((b[:, -1] >= st.t0) & (b[:, -1] <= st.t1))
            assert st.spatial.on_boundary(b[:, :-1]).all()
            x0 = st.sample_initial(40, method, seed)
            assert np.all(x0[:, -1] == st.t0)
            assert st.spatial.contains(x0[:, :-1]).all()
    # time is spread over the whole interval, not just the initial slice
    b = st.sample_boundary(1000, "sobol", seed=0)
    assert abs(np.mean(b[:, -1] < (st.t0 + st.t1) / 2) - 0.5) < 0.02


def test_spacetime_properties():
    rect = Rectangle((-1, -1), (1, 1))
    st = rect * TimeInterval(1, 3)
    assert isinstance(st, SpaceTime) and isinstance(st, Domain)
    assert st.spatial is rect and st.time.t0 == 1.0 and (st.t0, st.t1) == (1.0, 3.0)
    assert st.names == ("x", "y", "t") and st.dim == 3
    assert st.volume == pytest.approx(8.0)
    lo, hi = st.bounds
    np.testing.assert_array_equal(lo, [-1, -1, 1])
    np.testing.assert_array_equal(hi, [1, 1, 3])
    assert st.side_names == rect.side_names
    # the initial slice (interior of space at t0) is not boundary
    assert not st.on_boundary(np.array([[0.0, 0.0, 1.0]]))[0]
    assert st.on_boundary(np.array([[1.0, 0.0, 2.0]]))[0]
    assert not st.on_boundary(np.array([[1.0, 0.0, 3.5]]))[0]
    assert (Disk((0, 0), 2) * TimeInterval(0, 2)).volume == pytest.approx(8 * math.pi)


def test_time_interval_alone():
    t = TimeInterval(0, 2)
    assert t.time_axis == 0 and t.spatial_axes == () and t.names == ("t",)
    assert t.duration == 2.0 and t.volume == 2.0


# ---------------------------------------------------------------------------
# periodic pairs


@pytest.mark.parametrize("key, coordinate", [("box3", "y"), ("box3", 2), ("rectangle_t", "x"),
                                             ("box3_t", "z"), ("interval", "x"), ("interval_t", 0)])
def test_periodic_pairs_match(key, coordinate):
    domain = DOMAINS[key]
    i = domain.index(coordinate)
    lo, hi = domain.bounds
    for method in METHODS:
        x_lo, x_hi = domain.sample_periodic_pairs(coordinate, 30, method, seed=2)
        assert x_lo.shape == x_hi.shape == (30, domain.dim)
        others = [j for j in range(domain.dim) if j != i]
        np.testing.assert_array_equal(x_lo[:, others], x_hi[:, others])
        assert np.all(x_lo[:, i] == lo[i]) and np.all(x_hi[:, i] == hi[i])
        assert domain.contains(x_lo).all() and domain.contains(x_hi).all()
    if domain.dim > 1:  # the free coordinates are spread out
        assert np.ptp(x_lo[:, others], axis=0).min() > 0.5 * np.min((hi - lo)[others])


def test_periodic_pairs_rejected_for_disk_and_time():
    with pytest.raises(ValueError, match="periodic conditions need a box-like axis"):
        DOMAINS["disk"].sample_periodic_pairs("x", 10)
    with pytest.raises(ValueError, match="periodic conditions need a box-like axis"):
        DOMAINS["disk_t"].sample_periodic_pairs("y", 10)
    with pytest.raises(ValueError, match="box-like spatial axis.*time coordinate 't'"):
        DOMAINS["rectangle_t"].sample_periodic_pairs("t", 10)
    with pytest.raises(ValueError, match="time coordinate"):
        TimeInterval(0, 1).sample_periodic_pairs(0, 10)
    with pytest.raises(ValueError, match="unknown coordinate 'q'"):
        DOMAINS["box3"].sample_periodic_pairs("q", 10)


# ---------------------------------------------------------------------------
# sides


def test_box_side_names_and_aliases():
    assert Interval(0, 1).side_names == ("x_min", "x_max", "left", "right")
    assert Rectangle((0, 0), (1, 1)).side_names == (
        "x_min", "x_max", "y_min", "y_max", "left", "right", "bottom", "top")
    assert Box((0,) * 3, (1,) * 3).side_names[-6:] == ("left", "right", "front", "back", "bottom", "top")
    assert Box((0,) * 4, (1,) * 4).side_names == tuple(
        f"x{i}_{e}" for i in range(1, 5) for e in ("min", "max"))
    assert Rectangle((0, 0), (1, 1), names=("u", "v")).side_names[:2] == ("u_min", "u_max")
    assert Disk((0, 0), 1).side_names == ()


@pytest.mark.parametrize("key", ["interval", "rectangle", "box3", "box4", "rectangle_t", "box3_t", "interval_t"])
def test_side_predicates_and_side_sampling(key):
    domain = DOMAINS[key]
    # a side is identified by its (constant) outward normal; aliases share it
    normal = {}
    for name in domain.side_names:
        pts = domain.sample_boundary(64, "sobol", seed=0, side=name)
        assert domain.side(name)(pts).all(), name
        assert domain.on_boundary(pts).all()
        nrm = np.unique(domain.normals(pts), axis=0)
        assert len(nrm) == 1
        normal[name] = nrm[0]
    assert len({tuple(v) for v in normal.values()}) == 2 * len(domain.spatial_axes)
    for name in domain.side_names:
        pts = domain.sample_boundary(64, "sobol", seed=0, side=name)
        for other in domain.side_names:
            same = np.array_equal(normal[name], normal[other])
            assert domain.side(other)(pts).all() == same, (name, other)
    # interior points are on no side
    x = domain.sample_interior(32, "grid")
    assert not any(domain.side(s)(x).any() for s in domain.side_names)


def test_aliases_match_canonical_sides():
    box = Box((0, 0, 0), (1, 2, 3))
    pairs = {"left": "x_min", "right": "x_max", "front": "y_min", "back": "y_max", "bottom": "z_min", "top": "z_max"}
    x = np.vstack([box.sample_boundary(200, "sobol", seed=s) for s in range(3)])
    for alias, canonical in pairs.items():
        np.testing.assert_array_equal(box.side(alias)(x), box.side(canonical)(x))
        np.testing.assert_array_equal(
            box.sample_boundary(20, seed=0, side=alias), box.sample_boundary(20, seed=0, side=canonical))
    rect = Rectangle((0, 0), (1, 1))
    assert rect.side("top")(np.array([[0.5, 1.0]]))[0] and rect.side("bottom")(np.array([[0.5, 0.0]]))[0]


def test_side_predicate_tolerance_and_time_range():
    rect = Rectangle((0, 0), (1, 1))
    left = rect.side("left")
    pts = np.array([[0.0, 0.5], [1e-12, 0.5], [1e-3, 0.5], [0.0, 1.5]])
    np.testing.assert_array_equal(left(pts), [True, True, False, False])
    np.testing.assert_array_equal(left(pts, tol=1e-2), [True, True, True, False])
    st = rect * TimeInterval(0, 1)
    np.testing.assert_array_equal(
        st.side("left")(np.array([[0.0, 0.5, 0.5], [0.0, 0.5, 2.0]])), [True, False])


def test_unknown_sides():
    with pytest.raises(ValueError, match=re.escape("unknown side 'north'. Pick one of ('x_min', 'x_max'")):
        Rectangle((0, 0), (1, 1)).side("north")
    with pytest.raises(ValueError, match="unknown side 'north'. Pick one of"):
        DOMAINS["rectangle_t"].sample_boundary(10, side="north")
    with pytest.raises(ValueError, match="Disk has no named sides"):
        Disk((0, 0), 1).side("left")
    with pytest.raises(ValueError, match="Disk has no named sides"):
        DOMAINS["disk_t"].sample_boundary(10, side="left")


# ---------------------------------------------------------------------------
# evaluation grids


def test_box_grid_shape_and_ij_order():
    rect = Rectangle((0, -1), (1, 1))
    pts, shape = rect.grid((3, 5))
    assert shape == (3, 5) and pts.shape == (15, 2)
    g = pts.reshape(3, 5, 2)
    np.testing.assert_allclose(g[:, 0, 0], [0, 0.5, 1])
    np.testing.assert_allclose(g[0, :, 1], np.linspace(-1, 1, 5))
    assert np.all(g[:, :, 0] == g[:, :1, 0]) and np.all(g[:, :, 1] == g[:1, :, 1])
    pts, shape = Interval(0, 1).grid(11)
    assert shape == (11,) and np.allclose(pts[:, 0], np.linspace(0, 1, 11))
    pts, shape = Box((0,) * 3, (1,) * 3).grid(4)
    assert shape == (4, 4, 4) and pts.shape == (64, 3)


def test_spacetime_grid_time_fastest():
    st = Rectangle((0, 0), (1, 1)) * TimeInterval(0, 2)
    pts, shape = st.grid((2, 3, 5))
    assert shape == (2, 3, 5) and pts.shape == (30, 3)
    g = pts.reshape(2, 3, 5, 3)
    np.testing.assert_allclose(g[1, 2, :, 2], np.linspace(0, 2, 5))
    np.testing.assert_allclose(g[:, 0, 0, 0], [0, 1])
    pts, shape = (Disk((0, 0), 1) * TimeInterval(0, 1)).grid(5)
    assert shape is None and len(pts) == 5 * len(Disk((0, 0), 1).grid(5)[0])


def test_grid_bad_n():
    rect = Rectangle((0, 0), (1, 1))
    with pytest.raises(ValueError, match="at least 2 grid points"):
        rect.grid(1)
    with pytest.raises(TypeError, match="expected an int or a tuple of 2 ints"):
        rect.grid(2.5)
    with pytest.raises(TypeError, match="expected an int or a tuple of 2 ints"):
        rect.grid((3, 3, 3))


# ---------------------------------------------------------------------------
# coordinates, bounds, volumes, repr


def test_coordinates_and_index():
    assert Box((0,) * 3, (1,) * 3).names == ("x", "y", "z")
    assert Box((0,) * 4, (1,) * 4).names == ("x1", "x2", "x3", "x4")
    rect = Rectangle((0, 0), (2, 3))
    assert rect.dim == 2 and rect.time_axis is None and rect.spatial_axes == (0, 1)
    assert rect.index("y") == 1 and rect.index(0) == 0 and rect.index(np.int64(1)) == 1
    with pytest.raises(ValueError, match=re.escape("unknown coordinate 'q'. Pick one of ('x', 'y')")):
        rect.index("q")
    for bad in (-1, 2):
        with pytest.raises(ValueError, match=f"unknown coordinate {bad}. Pick one of"):
            rect.index(bad)
    with pytest.raises(TypeError, match="coordinate name"):
        rect.index(1.0)


def test_bounds_and_volumes():
    assert Interval(-1, 2).volume == 3.0
    assert Rectangle((0, 0), (2, 3)).volume == 6.0
    assert Box((0, 0, 0), (1, 2, 3)).volume == 6.0
    assert Disk((1, 1), 2).volume == pytest.approx(4 * math.pi)
    lo, hi = Disk((1, 1), 2).bounds
    np.testing.assert_array_equal(lo, [-1, -1])
    np.testing.assert_array_equal(hi, [3, 3])
    box = Box((0, 0), (1, 1))
    lo, _ = box.bounds
    lo[0] = 5.0  # bounds are copies
    assert box.bounds[0][0] == 0.0


def test_repr():
    assert repr(Rectangle((-1, -1), (1, 1))) == "Rectangle(lo=(-1.0, -1.0), hi=(1.0, 1.0), names=('x', 'y'))"
    assert repr(Interval(0, 1)) == "Interval(a=0.0, b=1.0, name='x')"
    assert repr(Box((0, 0, 0), (1, 1, 1))) == "Box(lo=(0.0, 0.0, 0.0), hi=(1.0, 1.0, 1.0), names=('x', 'y', 'z'))"
    assert repr(Disk((0, 0), 1)) == "Disk(center=(0.0, 0.0), radius=1.0, names=('x', 'y'))"
    assert repr(Interval(0, 1) * TimeInterval(0, 2)) == (
        "SpaceTime(Interval(a=0.0, b=1.0, name='x'), TimeInterval(t0=0.0, t1=2.0, name='t'))")


def test_constructor_does_not_alias_inputs():
    lo = np.zeros(2)
    box = Box(lo, np.ones(2))
    lo[0] = 0.5
    assert box.bounds[0][0] == 0.0 and lo.flags.writeable


def test_torch_inputs_accepted():
    torch = pytest.importorskip("torch")
    rect = Rectangle((0, 0), (1, 1))
    x = torch.tensor([[0.0, 0.5], [0.5, 0.5]], requires_grad=True)
    np.testing.assert_array_equal(rect.contains(x), [True, True])
    np.testing.assert_array_equal(rect.on_boundary(x), [True, False])
    np.testing.assert_array_equal(rect.normals(x[:1]), [[-1.0, 0.0]])
    assert rect.side("left")(x).tolist() == [True, False]


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("call", ["sample_interior", "sample_boundary"])
def test_bad_n_and_method(call):
    sample = getattr(DOMAINS["rectangle_t"], call)
    with pytest.raises(TypeError, match="expected a positive int number of points n, got 2.5"):
        sample(2.5)
    with pytest.raises(TypeError, match="positive int"):
        sample(True)
    with pytest.raises(ValueError, match="expected a positive number of points n, got 0"):
        sample(0)
    with pytest.raises(ValueError, match="got -3"):
        sample(-3)
    msg = "unknown sampling method 'foo'. Pick one of ('uniform', 'sobol', 'halton', 'lhs', 'grid')"
    with pytest.raises(ValueError, match=re.escape(msg)):
        sample(10, method="foo")
    assert sample(np.int64(3)).shape == (3, 3)


def test_bad_n_other_samplers():
    st = DOMAINS["rectangle_t"]
    with pytest.raises(TypeError, match="positive int"):
        st.sample_initial(1.5)
    with pytest.raises(ValueError, match="unknown sampling method"):
        st.sample_periodic_pairs("x", 10, method="random")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Box((0, 0), (1, 1, 1)), ValueError, "expected lo and hi of equal length, got 2 and 3"),
        (lambda: Box((0, 0), (1, 0)), ValueError, r"expected hi > lo in every coordinate, got lo=\(0.0, 0.0\)"),
        (lambda: Box((0, np.nan), (1, 1)), ValueError, "expected finite numbers for lo"),
        (lambda: Box(("a", 0), (1, 1)), ValueError, "expected numbers for lo"),
        (lambda: Box((0, 0), (1, 1), names=("x", "x")), ValueError, "expected unique coordinate names, got"),
        (lambda: Box((0, 0), (1, 1), names=("x",)), ValueError, "expected 2 non-empty coordinate name strings"),
        (lambda: Rectangle((0, 0, 0), (1, 1, 1)), ValueError, "expected lo and hi of length 2 for a Rectangle"),
        (lambda: Interval(1, 1), ValueError, "expected b > a, got a=1.0, b=1.0"),
        (lambda: Interval((0, 1), 2), ValueError, "expected a single number for a"),
        (lambda: Interval(0, math.inf), ValueError, "expected finite numbers for b"),
        (lambda: TimeInterval(1, 0), ValueError, "expected t1 > t0, got t0=1.0, t1=0.0"),
        (lambda: Disk((0, 0), 0), ValueError, "expected radius > 0, got 0.0"),
        (lambda: Disk((0, 0), -1), ValueError, "expected radius > 0"),
        (lambda: Disk((0, 0, 0), 1), ValueError, "expected a center of 2 numbers, got 3"),
        (lambda: Disk((0, 0), 1, names=("x", "y", "z")), ValueError, "expected 2 non-empty coordinate name"),
        (lambda: Interval(0, 1, name="t") * TimeInterval(0, 1), ValueError, "expected unique coordinate names"),
    ],
)
def test_constructor_validation(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_product_errors():
    rect = Rectangle((0, 0), (1, 1))
    with pytest.raises(TypeError, match="expected a TimeInterval on the right of '\\*', got Interval"):
        rect * Interval(0, 1)
    with pytest.raises(TypeError, match="expected a TimeInterval"):
        rect * 2
    st = rect * TimeInterval(0, 1)
    with pytest.raises(ValueError, match="expected a spatial domain on the left.*already has a time axis"):
        st * TimeInterval(0, 1)
    with pytest.raises(ValueError, match="already has a time axis"):
        TimeInterval(0, 1) * TimeInterval(0, 1)
    with pytest.raises(TypeError, match="expected a TimeInterval, got Interval"):
        SpaceTime(rect, Interval(0, 1))


def test_point_shape_errors():
    rect = Rectangle((0, 0), (1, 1))
    bad = np.zeros((5, 3))
    for fn in (rect.contains, rect.on_boundary, rect.normals, rect.side("left")):
        with pytest.raises(ValueError, match=re.escape("expected points of shape (n, 2), got (5, 3)")):
            fn(bad)
    with pytest.raises(ValueError, match=re.escape("expected points of shape (n, 2), got (2,)")):
        rect.contains(np.zeros(2))
    st = rect * TimeInterval(0, 1)
    with pytest.raises(ValueError, match=re.escape("expected points of shape (n, 3), got (5, 2)")):
        st.contains(np.zeros((5, 2)))


@pytest.mark.parametrize("key", ["rectangle", "disk", "rectangle_t", "interval"])
def test_normals_off_boundary_raise(key):
    domain = DOMAINS[key]
    x = domain.sample_interior(4, "grid")
    with pytest.raises(ValueError, match="expected points on the boundary of .*4 of 4 are not"):
        domain.normals(x)
    # tolerance 1e-8 relative to the domain size
    b = domain.sample_boundary(3, "grid")
    domain.normals(b + 1e-10 * scale(domain) * domain.normals(b))
    with pytest.raises(ValueError, match="1 of 3"):
        domain.normals(np.vstack([b[:2], b[2:] - 1e-6 * scale(domain) * domain.normals(b[2:])]))
