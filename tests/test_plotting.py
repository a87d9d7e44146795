"""Figures: fields, solution panels, loss histories, KAN activations."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _exact(x):
    return torch.sin(math.pi * x[:, :1]) * torch.cos(x[:, -1:])


def _solution(domain, exact=_exact):
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)], exact=exact, name="demo")
    return kp.Solution(problem, kp.KAN([domain.dim, 3, 1], grid=3, seed=0).double())


DOMAINS = {
    "interval": lambda: kp.Interval(0.0, 1.0),
    "rectangle": lambda: kp.Rectangle((0.0, 0.0), (2.0, 1.0)),
    "disk": lambda: kp.Disk((0.0, 0.0), 1.0),
    "box3d": lambda: kp.Box((0, 0, 0), (1, 1, 1)),
    "interval_time": lambda: kp.Interval(0.0, 1.0) * kp.TimeInterval(0.0, 1.0),
    "rectangle_time": lambda: kp.Rectangle((0.0, 0.0), (1.0, 1.0)) * kp.TimeInterval(0.0, 1.0),
}


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _is_png(path):
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian() + 2 * math.pi ** 2 * _exact(x),
                         [kp.Dirichlet(0.0, hard=False)],
                         exact=lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:]),
                         name="poisson")
    config = kp.TrainConfig(interior_points=100, boundary_points=40, verbose=False, eval_every=2,
                            schedule=[kp.Adam(6), kp.LBFGS(2, grid=3), kp.LBFGS(2, grid=6)])
    return kp.solve(problem, kp.KAN([2, 3, 1], grid=3, seed=0), config)


@pytest.mark.parametrize("name", list(DOMAINS))
def test_plot_solution_panels(tmp_path, name):
    solution = _solution(DOMAINS[name]())
    path = tmp_path / "figs" / "solution.png"
    fig = plotting.plot_solution(solution, path, resolution=12)
    assert isinstance(fig, Figure)
    panels = _panels(fig)
    if name == "interval":  # prediction with exact overlaid, |error|
        assert len(panels) == 2 and not _colorbars(fig)
        assert len(panels[0].lines) == 2 and len(panels[1].lines) == 1
    else:
        assert len(panels) == 3 and len(_colorbars(fig)) == 3
        assert [len(ax.collections) for ax in panels] == [1, 1, 1]
        assert panels[0].collections[0].get_clim() == panels[1].collections[0].get_clim()  # shared scale
    assert "rel L2" in panels[-1].get_title()
    assert _is_png(path)
    assert [p.name for p in path.parent.iterdir()] == ["solution.png"]  # written atomically, nothing left over


def test_plot_solution_without_exact():
    fig = plotting.plot_solution(_solution(kp.Rectangle((0, 0), (1, 1)), exact=None), resolution=8)
    assert len(_panels(fig)) == 1 and len(_colorbars(fig)) == 1


def test_plot_field_kinds():
    ax = plotting.plot_field(_solution(kp.Interval(0, 1)), resolution=20)
    assert len(ax.lines) == 2 and [l.get_label() for l in ax.lines] == ["prediction", "exact"]
    ax = plotting.plot_field(_solution(kp.Interval(0, 1)), "error", resolution=20)
    assert len(ax.lines) == 1 and np.all(ax.lines[0].get_ydata() >= 0)
    ax = plotting.plot_field(_solution(kp.Rectangle((0, 0), (1, 1))), "exact", resolution=10)
    assert type(ax.collections[0]).__name__ == "QuadMesh" and ax.get_title() == "exact u"
    ax = plotting.plot_field(_solution(kp.Disk((0, 0), 1)), resolution=10)
    assert type(ax.collections[0]).__name__ == "TriMesh"
    ax = plotting.plot_field(_solution(kp.Interval(0, 2) * kp.TimeInterval(0, 1)), "error", resolution=10)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "t")
    assert ax.get_xlim() == (0.0, 2.0) and ax.get_ylim() == (0.0, 1.0)
    ax = plotting.plot_field(_solution(kp.Rectangle((0, 0), (1, 1)) * kp.TimeInterval(0, 2)), resolution=10, at=0.5)
    assert "t = 0.5" in ax.get_title()


def test_plot_field_values_match_predict():
    solution = _solution(kp.Rectangle((0, 0), (1, 1)))
    fig = Figure()
    ax = fig.add_subplot()
    assert plotting.plot_field(solution, ax=ax, resolution=7) is ax
    mesh = ax.collections[0]
    points, _ = solution.problem.domain.grid(7)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(), solution.predict(points)[:, 0])


def test_plot_field_errors():
    no_exact = _solution(kp.Interval(0, 1), exact=None)
    with pytest.raises(ValueError, match="needs a problem with an exact"):
        plotting.plot_field(no_exact, "error")
    with pytest.raises(ValueError, match=r"unknown field 'err'\. Pick one of \('u', 'exact', 'error'\)"):
        plotting.plot_field(no_exact, "err")
    with pytest.raises(ValueError, match="component"):
        plotting.plot_field(no_exact, component=3)
    with pytest.raises(ValueError, match="outside the time interval"):
        plotting.plot_field(_solution(kp.Disk((0, 0), 1) * kp.TimeInterval(0, 1)), at=2.0)
    with pytest.raises(ValueError, match="3 spatial"):
        plotting.plot_field(_solution(kp.Box((0, 0, 0), (1, 1, 1)) * kp.TimeInterval(0, 1)))


def test_plot_history(trained, tmp_path):
    history = trained.history
    fig = Figure()
    ax = plotting.plot_history(trained, ax=fig.add_subplot())
    labels = [line.get_label() for line in ax.lines]
    assert labels[:5] == ["pde", "weight pde", "dirichlet", "weight dirichlet", "total"]  # gradnorm weights dashed
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history.column("weight:pde")[1])
    stage_lines = [line for line in ax.lines if line.get_label().startswith("_")]
    assert len(stage_lines) == len(history.stages) - 1 == 2  # boundaries after the first stage
    assert [line.get_xdata()[0] for line in stage_lines] == [s["start"] for s in history.stages[1:]]
    assert [t.get_text().strip() for t in ax.texts] == [s["label"] for s in history.stages]
    assert ax.get_yscale() == "log"
    twin = [a for a in fig.axes if a is not ax]
    assert len(twin) == 1 and len(twin[0].lines) == 1 and twin[0].get_yscale() == "log"
    np.testing.assert_allclose(twin[0].lines[0].get_ydata(), history.column("rel_l2")[1])
    plotting.save_figure(fig, tmp_path / "history.png")
    assert _is_png(tmp_path / "history.png")
    # a History works too, and ax=None makes a pyplot figure
    assert plotting.plot_history(history).figure is not fig


def test_plot_history_empty():
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_history(kp.History())
    with pytest.raises(TypeError, match="Solution or History"):
        plotting.plot_history(object())


def test_plot_activations(trained, tmp_path):
    fig = plotting.plot_activations(trained.model, tmp_path / "act.png")
    assert isinstance(fig, Figure)
    panels = fig.axes
    assert len(panels) == 2 * 3 + 3 * 1
    titles = [ax.get_title() for ax in panels]
    assert titles[:6] == ["L0 x0→0", "L0 x0→1", "L0 x0→2", "L0 x1→0", "L0 x1→1", "L0 x1→2"]
    assert titles[6:] == ["L1 0→0", "L1 1→0", "L1 2→0"]  # transposed block: one row
    layer = trained.model.layers[1]
    x = panels[7].lines[0].get_xdata()
    assert x[0] == pytest.approx(float(layer.lo[1])) and x[-1] == pytest.approx(float(layer.hi[1]))
    with torch.no_grad():
        phi = layer.edge_values(torch.as_tensor(np.repeat(x[:, None], 3, 1)))[0][:, 1, 0].numpy()
    np.testing.assert_allclose(panels[7].lines[0].get_ydata(), phi, atol=1e-12)
    assert _is_png(tmp_path / "act.png")
    named = plotting.plot_activations(trained)  # a Solution: the first layer's inputs by coordinate name
    assert [ax.get_title() for ax in named.axes][:4] == ["L0 x→0", "L0 x→1", "L0 x→2", "L0 y→0"]
    ticks = [float(t) for t in named.axes[7].get_xticks()]  # each panel's x axis: its input's range
    assert ticks == pytest.approx([float(layer.lo[1]), float(layer.hi[1])])


def test_plot_activations_needs_a_kan():
    with pytest.raises(TypeError, match="needs a kp.KAN"):
        plotting.plot_activations(kp.MLP([2, 4, 1]))


def test_plot_fd_comparison(tmp_path):
    fd = kp.fd.poisson(lambda p: -2 * np.pi ** 2 * torch.sin(np.pi * p[:, 0]) * torch.sin(np.pi * p[:, 1]),
                       (0, 0), (1, 1), 8)
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    solution = _solution(kp.Rectangle((0, 0), (1, 1)), exact=exact)
    fig = plotting.plot_fd_comparison(fd, solution, exact=exact, path=tmp_path / "fd.png")
    assert len(_panels(fig)) == 3 and _is_png(tmp_path / "fd.png")
    heat = kp.fd.heat(lambda p: torch.sin(np.pi * p[:, 0]), 0.1, (0,), (1,), 10, 0.5, 4)
    fig = plotting.plot_fd_comparison(heat)
    assert len(_panels(fig)) == 1 and _panels(fig)[0].get_ylabel() == "t"


def _title_numbers(fig) -> list[float]:
    """Every 'rel L2 <number>' in the figure's titles."""
    import re

    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    return [float(m) for t in titles for m in re.findall(r"rel L2 ([-+0-9.eEnaif]+)", t)]


def _assert_sane(numbers):
    assert numbers, "no rel L2 in any title"
    for value in numbers:
        assert math.isfinite(value) and 0 <= value < 1e3, numbers


@pytest.mark.parametrize("name", ["rectangle", "disk", "box3d", "interval"])
def test_solution_title_equals_errors(name):
    solution = _solution(DOMAINS[name]())
    numbers = _title_numbers(plotting.plot_solution(solution, resolution=12))
    _assert_sane(numbers)
    assert numbers == [float(f"{solution.errors()['rel_l2']:.2e}")]


def test_3d_slice_where_the_solution_lives():
    """sin(pi x) sin(pi y) sin(pi z) on [-1, 1]^3 vanishes at z = 0: the slice goes where it is largest."""
    exact = lambda x: torch.sin(math.pi * x).prod(1, keepdim=True)  # noqa: E731
    solution = _solution(kp.Box((-1, -1, -1), (1, 1, 1)), exact=exact)
    fig = plotting.plot_solution(solution, resolution=15)
    panels = _panels(fig)
    assert "z = 0" not in panels[0].get_title() and abs(abs(float(panels[0].get_title().split("z = ")[1][:-1])) - 0.5) \
        <= 0.05
    shown = np.asarray(panels[1].collections[0].get_array())
    assert np.ptp(shown) > 1.0  # the exact panel is not flat
    _assert_sane(_title_numbers(fig))
    assert "z = 0.25" in plotting.plot_field(solution, at=0.25, resolution=5).get_title()  # at= still wins


def test_error_panels_use_a_log_scale():
    from matplotlib.colors import LogNorm

    fig = plotting.plot_solution(_solution(kp.Rectangle((0, 0), (1, 1))), resolution=10)
    norm = _panels(fig)[-1].collections[0].norm
    assert isinstance(norm, LogNorm) and norm.vmax / norm.vmin <= 10.0 ** plotting.ERROR_DECADES * (1 + 1e-9)
    fig = plotting.plot_solution(_solution(kp.Interval(0, 1)), resolution=10)
    assert _panels(fig)[-1].get_yscale() == "log"


def test_system_title_shows_the_component_error():
    exact = lambda x: torch.cat([torch.sin(x[:, :1]), 3 * x[:, 1:] ** 2 + 1], 1)  # noqa: E731
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: (u[0].laplacian(), u[1].laplacian()),
                         exact=exact, outputs=("u", "v"))
    solution = kp.Solution(problem, kp.KAN([2, 3, 2], grid=3, seed=1).double())
    errors = solution.errors()
    for name in ("u", "v"):
        numbers = _title_numbers(plotting.plot_solution(solution, component=name, resolution=8, errors=errors))
        assert numbers == [float(f"{errors[name]['rel_l2']:.2e}")]


def test_time_slices_title_and_legend_clear_of_the_data():
    solution = _solution(DOMAINS["interval_time"]())
    fig = plotting.plot_time_slices(solution, resolution=30)
    numbers = _title_numbers(fig)
    _assert_sane(numbers)
    assert numbers == [float(f"{solution.errors()['rel_l2']:.2e}")]
    left = _panels(fig)[0]
    fig.canvas.draw()
    legend = left.get_legend().get_window_extent()
    assert legend.x0 >= left.get_window_extent().x1  # beside the axes, not on the curves
