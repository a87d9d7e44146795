"""File guarantees: umask modes, atomic sets, concurrent writers, meshio round trips."""

from __future__ import annotations

import os
import stat
import threading
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.files import atomic_write, atomic_write_set
from kanpde.io.export import domain_mesh, export_solution


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _solution(domain, seed=0):
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)],
                         exact=lambda x: torch.sin(x).sum(1, keepdim=True), name="files")
    return kp.Solution(problem, kp.KAN([domain.dim, 3, 1], grid=3, seed=seed).double())


def _levels(path):
    """``[(time, mesh)]`` read back with meshio (one entry for a static file)."""
    if path.suffix == ".pvd":
        return [(float(d.get("timestep")), meshio.read(path.parent / d.get("file")))
                for d in ET.parse(path).getroot().iter("DataSet")]
    if path.suffix == ".xdmf" and "Temporal" in path.read_text():
        with meshio.xdmf.TimeSeriesReader(path) as reader:
            points, cells = reader.read_points_cells()
            return [(t, meshio.Mesh(points, cells, point_data=data))
                    for t, data, _ in (reader.read_data(k) for k in range(reader.num_steps))]
    return [(None, meshio.read(path))]


def _all_files(folder):
    return [os.path.join(root, name) for root, dirs, files in os.walk(folder) for name in files + dirs]


@pytest.mark.parametrize("ext", [".vtu", ".vtk", ".xdmf", ".pvd"])
def test_outputs_get_the_umask_mode(tmp_path, umask_022, ext):
    timed = ext in (".xdmf", ".pvd")
    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 1) if timed else kp.Rectangle((0, 0), (1, 1))
    solution = _solution(domain)
    export_solution(solution, tmp_path / f"u{ext}", resolution=3)
    solution.save(tmp_path / "model.pt")
    atomic_write(tmp_path / "sub" / "a.txt", lambda tmp: open(tmp, "w").write("x"))
    paths = _all_files(tmp_path)
    assert len(paths) >= 4
    for path in paths:
        assert _mode(path) == (0o755 if os.path.isdir(path) else 0o644), path


def test_umask_is_honoured_not_hard_coded(tmp_path):
    old = os.umask(0o077)
    try:
        path = atomic_write(tmp_path / "private.txt", lambda tmp: open(tmp, "w").write("x"))
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_unwritable_target_names_the_path(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"cannot write '.*file/out\.vtu': '.*file' is a file, not a folder"):
        atomic_write(tmp_path / "file" / "out.vtu", lambda tmp: None)
    with pytest.raises(OSError, match=r"cannot write '.*file/out\.pvd'"):
        atomic_write_set(tmp_path / "file" / "out.pvd", lambda folder, data: None)


def test_failed_set_write_keeps_the_previous_output(tmp_path):
    solution = _solution(kp.Interval(0, 1) * kp.TimeInterval(0, 1))
    path = export_solution(solution, tmp_path / "s.pvd", resolution=3)
    before = sorted(_all_files(tmp_path))

    def fail(folder, data):
        (folder / data).mkdir()
        (folder / data / "half.vtu").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_set(path, fail)
    assert sorted(_all_files(tmp_path)) == before
    assert len(_levels(path)) == 3


@pytest.mark.parametrize("ext", [".pvd", ".xdmf"])
def test_concurrent_writers_leave_one_complete_output(tmp_path, ext):
    """Four threads write different solutions to one path, three times each: what stays is
    one writer's complete series (index, data and values agree), and nothing else."""
    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 1)
    solutions = [_solution(domain, seed) for seed in range(4)]
    path = tmp_path / f"s{ext}"
    mesh = domain_mesh(domain, (5, 4))
    expected = [s.predict(mesh.all_points())[:, 0].reshape(4, 5) for s in solutions]  # (levels, points)
    start, errors = threading.Barrier(len(solutions)), []

    def writer(solution):
        try:
            start.wait()
            for _ in range(3):
                export_solution(solution, path, resolution=(5, 4))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in solutions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = sorted(p.name for p in tmp_path.iterdir())
    assert len(entries) == 2 and f"s{ext}" in entries, entries  # the index and one writer's side data
    levels = _levels(path)
    assert len(levels) == 4
    got = np.stack([np.asarray(m.point_data["u"]).reshape(-1) for _, m in levels])
    matches = [k for k, e in enumerate(expected) if np.array_equal(got, e)]
    assert len(matches) == 1
    np.testing.assert_allclose([t for t, _ in levels], mesh.times)


@pytest.mark.parametrize("ext", [".vtu", ".vtk", ".xdmf", ".pvd"])
def test_meshio_reads_back_what_predict_gives(tmp_path, ext):
    """Every written format, static and (where it exists) as a series, read with meshio."""
    domains = {"static": kp.Disk((0, 0), 1.0)}
    if ext != ".vtk":
        domains["series"] = kp.Rectangle((0, 0), (1, 2)) * kp.TimeInterval(0, 1)
    for kind, domain in domains.items():
        solution = _solution(domain, seed=3)
        written = export_solution(solution, tmp_path / kind / f"u{ext}", resolution=4)
        levels = _levels(written)
        assert len(levels) == (4 if kind == "series" else 1)
        for t, mesh in levels:
            points = mesh.points[:, :2].astype(np.float64)
            if kind == "series":
                points = np.column_stack([points, np.full(len(points), t)])
            u = np.asarray(mesh.point_data["u"], dtype=np.float64).reshape(-1)
            np.testing.assert_array_equal(u, solution.predict(points)[:, 0])
            np.testing.assert_array_equal(np.asarray(mesh.point_data["u_exact"]).reshape(-1),
                                          np.sin(points).sum(1))


def test_series_of_one_stem_in_two_formats_keep_each_other(tmp_path):
    solution = _solution(kp.Interval(0, 1) * kp.TimeInterval(0, 1))
    for _ in range(2):  # the second round replaces each index's own side data only
        pvd = export_solution(solution, tmp_path / "u.pvd", resolution=3)
        xdmf = export_solution(solution, tmp_path / "u.xdmf", resolution=3)
    assert len(list(tmp_path.iterdir())) == 4
    for path in (pvd, xdmf):
        assert len(_levels(path)) == 3


_EXPORT_SCRIPT = """
import sys, torch, kanpde as kp
seed, path, timed = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
domain = kp.Rectangle((0, 0), (1, 1)) if not timed else kp.Interval(0, 1) * kp.TimeInterval(0, 1)
problem = kp.Problem(domain, lambda x, u: u.laplacian(), exact=lambda x: torch.sin(x).sum(1, keepdim=True))
solution = kp.Solution(problem, kp.KAN([2, 3, 1], grid=3, seed=seed).double())
print("ready", flush=True)
sys.stdin.readline()                      # start together
for _ in range(5):
    kp.export_solution(solution, path, resolution=(6, 5))
"""


@pytest.mark.parametrize("timed", [False, True], ids=["static", "series"])
def test_two_processes_exporting_one_xdmf_leave_no_stray_h5(tmp_path, timed):
    """Two processes write one .xdmf (heavy data in .h5) at once, five times each: what stays is
    the .xdmf and exactly the one .h5 it names, readable, with one writer's values."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    path = tmp_path / "s.xdmf"
    procs = [subprocess.Popen([sys.executable, "-c", _EXPORT_SCRIPT, str(seed), str(path), str(int(timed))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for seed in (0, 1)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    entries = sorted(q.name for q in tmp_path.iterdir())
    h5 = [name for name in entries if name.endswith(".h5")]
    assert len(entries) == 2 and "s.xdmf" in entries and len(h5) == 1, entries  # no temp folder, no stray .h5
    assert h5[0] in path.read_text()                                            # the index names that .h5
    levels = _levels(path)
    assert len(levels) == (5 if timed else 1)
    values = np.concatenate([np.asarray(m.point_data["u"]).reshape(-1) for _, m in levels])
    domain = kp.Rectangle((0, 0), (1, 1)) if not timed else kp.Interval(0, 1) * kp.TimeInterval(0, 1)
    mesh = domain_mesh(domain, (6, 5))
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), exact=lambda x: torch.sin(x).sum(1, keepdim=True))
    candidates = [kp.Solution(problem, kp.KAN([2, 3, 1], grid=3, seed=s).double()).predict(mesh.all_points())[:, 0]
                  for s in (0, 1)]
    assert sum(np.allclose(values, c, rtol=0, atol=1e-12) for c in candidates) == 1
