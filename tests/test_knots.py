"""Moving knots (kanpde.nn.knots): the monotone map, the mapped KAN's jet, knot moves that keep the function,
and a sharp front fitted with few knots."""

import math

import pytest
import torch

from kanpde.nn.knots import KnotMap, MappedKAN, equidistributing_density
from kanpde.nn.splines import fit_coefficients

EPS, CENTRE = 1e-3, 0.1234  # a tanh front of width 1e-3, off the grid's symmetry


def front(x):
    return torch.tanh((x - CENTRE) / EPS)


def front_slope(x):
    return 1 / (EPS * torch.cosh((x - CENTRE) / EPS) ** 2)


def fit_front(model: MappedKAN, x: torch.Tensor) -> float:
    """Least-squares fit of the front by the single-edge KAN's spline in s(x); rel L2 on x."""
    layer = model.layers[0]
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_spline.fill_(1.0)
        layer.coef.data = fit_coefficients(model.knot_map(x), front(x).unsqueeze(-1), layer.lo, layer.hi,
                                           layer.grid, layer.k)
        return float((model(x) - front(x)).norm() / front(x).norm())


def test_uniform_density_is_the_identity_and_inverse_round_trips():
    knot_map = KnotMap(torch.tensor([-1.0, 0.0], dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64), 64)
    x = torch.stack([torch.linspace(-1.5, 1.5, 101), torch.linspace(-0.5, 2.5, 101)], 1).double()
    s, s1, s2 = knot_map.derivatives(x)
    assert torch.allclose(s, x, atol=1e-13) and torch.allclose(s1, torch.ones_like(x)) and s2.abs().max() < 1e-10
    density = torch.rand(2, 66, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.1
    knot_map.set_density(density)
    ends = knot_map(torch.tensor([[-1.0, 0.0], [1.0, 2.0]], dtype=torch.float64))
    assert torch.allclose(ends, torch.tensor([[-1.0, 0.0], [1.0, 2.0]], dtype=torch.float64), atol=1e-13)
    assert torch.allclose(knot_map.inverse(knot_map(x)), x, atol=1e-12)
    assert bool((knot_map.derivatives(x, 1)[1] > 0).all())
    with pytest.raises(ValueError, match="positive"):
        knot_map.set_density(-density)


def test_map_derivatives_match_autograd():
    knot_map = KnotMap(torch.tensor([-1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64), 32)
    x = torch.linspace(-0.99, 0.99, 57, dtype=torch.float64).unsqueeze(1)
    knot_map.set_density(equidistributing_density(x[:, 0], front_slope(x[:, 0]) ** 0.25, -1.0, 1.0, 32).unsqueeze(0))
    x.requires_grad_(True)
    s, s1, s2 = knot_map.derivatives(x)
    (g,) = torch.autograd.grad(s.sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert torch.allclose(g, s1, atol=1e-12) and torch.allclose(gg, s2, atol=1e-10)


def test_mapped_kan_jet_matches_autograd():
    model = MappedKAN([2, 3, 1], grid=6, seed=0, cells=64).double()
    x = torch.rand(40, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        model.move_knots(x, torch.exp(-(x / 0.1) ** 2))
    jet = model.jet(x, pairs=[(0, 0), (0, 1), (1, 1)])
    z = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(z).sum(), z, create_graph=True)
    hessian = [torch.autograd.grad(g[:, a].sum(), z, retain_graph=True)[0] for a in range(2)]
    assert torch.allclose(jet.grad[:, 0], g, atol=1e-11)
    for p, (a, b) in enumerate(jet.pairs):
        assert torch.allclose(jet.second[:, 0, p], hessian[a][:, b], atol=1e-9)


def test_moved_knots_fit_a_sharp_front_that_uniform_knots_miss():
    """De Boor: cubic knots equidistributing |f'|^(1/4) fit a tanh front of width 1e-3 with 64 knots to < 1e-8;
    the same 64 knots uniform give ~7e-2."""
    x = torch.linspace(-1, 1, 40001, dtype=torch.float64).unsqueeze(1)
    model = MappedKAN([1, 1], grid=63, k=3, cells=8192).double()
    uniform = fit_front(model, x)
    with torch.no_grad():
        model.move_knots(x, front_slope(x) ** 0.25, floor=0.02)
    moved = fit_front(model, x)
    assert uniform > 1e-2 and moved < 1e-8, (uniform, moved)
    knots = model.knots()[0]
    assert len(knots) == 64 and int(((knots - CENTRE).abs() < 10 * EPS).sum()) >= 50  # they found the front


def test_moved_knots_follow_the_fit_itself():
    """Starting from uniform knots, the monitor |u'|^(1/4) of the current fit (not of the target) finds the front:
    four moves take the fit from 7e-2 to below 1e-6."""
    x = torch.linspace(-1, 1, 40001, dtype=torch.float64).unsqueeze(1)
    model = MappedKAN([1, 1], grid=63, k=3, cells=8192).double()
    errors = [fit_front(model, x)]
    for _ in range(4):
        with torch.no_grad():
            model.move_knots(x, model.jet(x, order=1).grad[:, 0].abs() ** 0.25, floor=0.02)
        errors.append(fit_front(model, x))
    assert errors[0] > 1e-2 and errors[-1] < 1e-6, errors


def smooth_edges(model: MappedKAN) -> None:
    """First-layer splines of smooth functions (a random spline on a coarse grid has kinks no other grid keeps)."""
    layer = model.layers[0]
    s = torch.linspace(-1, 1, 200, dtype=torch.float64).unsqueeze(1).expand(-1, layer.in_dim)       # (200, in)
    phase = torch.arange(layer.in_dim * layer.out_dim, dtype=torch.float64).reshape(layer.in_dim, layer.out_dim)
    target = torch.sin(1.5 * s.unsqueeze(-1) + phase)                                               # (200, in, out)
    with torch.no_grad():
        layer.coef.data = fit_coefficients(s, target, layer.lo, layer.hi, layer.grid, layer.k)


def test_knot_moves_keep_the_function_where_the_spaces_nest():
    """A move to the same density, an h-refinement after a move: the function is kept to round-off. A genuine
    move keeps it to the accuracy of the new space."""
    model = MappedKAN([2, 4, 1], grid=10, seed=3, cells=256).double()
    smooth_edges(model)
    axis = torch.linspace(-1, 1, 512, dtype=torch.float64)
    x = torch.stack([axis, axis.flip(0)], 1)                  # an even sampling of each input (random points
    monitor = 1 + 4 * torch.exp(-(x / 0.3) ** 2)              # give a noisier density: see move_knots)
    with torch.no_grad():
        before = model(x)
        model.move_knots(x, monitor)
        moved = model(x)
        model.move_knots(x, monitor)          # the same density again: the map does not change
        again = model(x)
        model.refine(20)                      # a nested grid in s
        refined = model(x)
    scale = before.abs().max()
    assert (moved - before).abs().max() / scale < 1e-2       # least squares: the new knots are ~2x sparser at the ends
    assert (again - moved).abs().max() / scale < 1e-12
    assert (refined - again).abs().max() / scale < 1e-12


def test_move_knots_rejects_bad_monitors():
    model = MappedKAN([2, 2, 1], grid=4, seed=0, cells=16).double()
    x = torch.zeros(5, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="monitor"):
        model.move_knots(x, torch.ones(5, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="monitor"):
        model.move_knots(x, -torch.ones(5, 2, dtype=torch.float64))
    with torch.no_grad():
        assert math.isfinite(float(model(x).sum()))


def test_solve_trains_a_mapped_kan_with_lm_and_the_checkpoint_round_trips(tmp_path):
    """The trainer runs a MappedKAN like a KAN (jet, LM's layer taps through the map); save/load keeps the map."""
    import kanpde as kp

    width = 0.05
    problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") - (-2 / width**2) * torch.tanh(x / width)
                         / torch.cosh(x / width) ** 2, [kp.Dirichlet(lambda x: torch.tanh(x / width))],
                         exact=lambda x: torch.tanh(x / width))
    model = MappedKAN([1, 1], grid=20, seed=0, cells=512)
    x = torch.linspace(-1, 1, 2001).unsqueeze(1)
    with torch.no_grad():
        model.move_knots(x, (1 / torch.cosh(x / width) ** 2) ** 0.25)
    config = kp.TrainConfig(schedule=[kp.LM(20)], interior_points=400, seed=0, dtype="float64")
    solution = kp.solve(problem, model, config)
    assert solution.errors()["rel_l2"] < 1e-4
    solution.save(tmp_path / "mapped.pt")
    loaded = kp.Solution.load(tmp_path / "mapped.pt", problem=problem)
    assert isinstance(loaded.network, MappedKAN)
    assert torch.allclose(loaded.predict(x.double()), solution.predict(x.double()), atol=1e-12)


def test_adapt_moves_the_knots_at_each_grid_extension_to_the_networks_own_front():
    """``adapt=(0,)``: refine() doubles the grid (exact in s) and then moves the x-knots to |dN/dx| on the points
    update_grid saw: the move keeps the function to the new space's accuracy, and the knots fit a width-0.01 front
    over 10x better than 32 uniform ones."""
    global EPS
    saved, EPS = EPS, 1e-2
    try:
        x = torch.linspace(-1, 1, 4001, dtype=torch.float64).unsqueeze(1)
        model = MappedKAN([1, 1], grid=16, k=3, cells=2048, adapt=(0,)).double()
        before = fit_front(model, x)
        with torch.no_grad():
            model.update_grid(x, layers=0)      # only records the points (no layer's range changes)
            kept = model(x)
            model.refine(32)
            moved = float((model(x) - kept).norm() / kept.norm())
        knots = model.knots()[0]
        near = int(((knots - CENTRE).abs() < 5 * EPS).sum())
        assert near >= 6 and moved < before, (near, moved, before)  # uniform grid 32: ~1.6 knots within 5 eps
        uniform = fit_front(MappedKAN([1, 1], grid=32, k=3, cells=2048).double(), x)
        assert fit_front(model, x) < 0.1 * uniform, (fit_front(model, x), uniform)
    finally:
        EPS = saved
    with pytest.raises(ValueError, match="adapt"):
        MappedKAN([2, 1], adapt=(2,))


def test_adapt_reads_the_solution_the_trainer_gives_not_the_network():
    """follow(u): the next refine's monitor is |du/dx|; here u = (1 - x^2) N with N = 1/(1 - x^2 + 0.01) steep at
    the ends and u's front at 0.3, so the knots gather at 0.3 with follow(u) and at the ends without it."""
    x = torch.linspace(-1, 1, 2001, dtype=torch.float64).unsqueeze(1)
    target = 1 / (1.01 - x**2)
    knots = {}
    for follow in (True, False):
        model = MappedKAN([1, 1], grid=16, k=3, cells=1024, adapt=(0,)).double()
        layer = model.layers[0]
        with torch.no_grad():
            layer.scale_base.zero_()
            layer.scale_spline.fill_(1.0)
            layer.coef.data = fit_coefficients(x, target.unsqueeze(-1), layer.lo, layer.hi, layer.grid, layer.k)
            model.update_grid(x, layers=0)
            if follow:
                model.follow(lambda z: (1 - z**2) * model(z) + torch.tanh((z - 0.3) / 0.02))
            model.refine(16)
        knots[follow] = model.knots()[0]
    near = {f: int(((k - 0.3).abs() < 0.1).sum()) for f, k in knots.items()}
    ends = {f: int((k.abs() > 0.9).sum()) for f, k in knots.items()}
    assert near[True] > near[False] and ends[False] > ends[True], (near, ends)
