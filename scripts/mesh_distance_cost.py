"""Cost per point of a mesh domain's smooth distance function against its facet count.

Builds annulus meshes (two circles, sides "inner" and "outer") with about 1k, 10k and 100k boundary
facets, and times, on one point set each:
``adf()`` construction (once per mesh and side set), building the point-location trees (once
per mesh), the value, the closed-form jet (value, gradient, Hessian), point location
(``contains``, trees built), and the previous per-facet R-equivalence for comparison (on at most
10k facets: it needs an (N, facets) array). Per-point costs are the ones that must not grow.

Usage:  python scripts/mesh_distance_cost.py [--facets 1000 10000 100000] [--points 4000] [--json FILE]
Prints one row per size and the ratio of the largest to the smallest time per point; ``--json`` also
writes the rows and ratios (docs/benchmarks/mesh_distance_cost.json holds the recorded run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
from kanpde.geometry.distance import r_equivalence, segment_adf  # noqa: E402


def annulus_mesh(around: int, rings: int, inner: float = 0.5, outer: float = 1.0,
                 sweep: float = 2 * np.pi) -> kp.MeshDomain:
    """A structured triangle mesh of ``inner <= |x| <= outer``, angles ``0..sweep``: ``around``
    facets per circle, ``rings`` layers of ``2 * around`` triangles; sides "inner" and "outer"
    (and "ends", the two straight cuts, when ``sweep < 2 pi``)."""
    whole = sweep >= 2 * np.pi
    count = around if whole else around + 1
    theta = sweep * np.arange(count) / around
    radii = np.linspace(inner, outer, rings + 1)
    points = np.concatenate([np.column_stack([r * np.cos(theta), r * np.sin(theta)]) for r in radii])
    node = lambda j, i: j * count + i % count  # noqa: E731
    tris = []
    for j in range(rings):
        for i in range(around):
            a, b, c, d = node(j, i), node(j, i + 1), node(j + 1, i + 1), node(j + 1, i)
            tris += [(a, b, c), (a, c, d)]
    sides = {"inner": [(node(0, i), node(0, i + 1)) for i in range(around)],
             "outer": [(node(rings, i), node(rings, i + 1)) for i in range(around)]}
    if not whole:
        sides["ends"] = [(node(j, i), node(j + 1, i)) for j in range(rings) for i in (0, around)]
    return kp.MeshDomain(points, np.array(tris), sides)


def _timed(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(facets: int, points: int, old_limit: int = 10_000) -> dict:
    """Seconds for one annulus with about ``facets`` boundary facets (half on each circle)."""
    around = max(12, facets // 2)
    domain = annulus_mesh(around, 2)
    x = torch.as_tensor(domain.sample_interior(points, "sobol", 0))
    xn = x.numpy()
    row = {"facets": 2 * around, "points": points}
    row["build"] = _timed(lambda: domain.adf(), 1)
    phi = domain.adf()
    row["value"] = _timed(lambda: phi(x))
    row["jet"] = _timed(lambda: phi.jet(x))
    row["index"] = _timed(lambda: domain.contains(xn[:1]), 1)       # builds the point-location trees once
    row["contains"] = _timed(lambda: domain.contains(xn))
    if 2 * around <= old_limit:
        f = domain._points_[domain._facets]
        seg = segment_adf(f[:, 0], f[:, 1])
        row["old_value"] = _timed(lambda: r_equivalence(seg(x)), 1)
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facets", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--points", type=int, default=4000)
    parser.add_argument("--json", help="write the rows and the per-point ratios to this file")
    args = parser.parse_args(argv)
    rows = [measure(f, args.points) for f in args.facets]
    keys = ["build", "index", "value", "jet", "contains", "old_value"]
    print(f"{'facets':>8} {'points':>7} " + " ".join(f"{k + ' s':>12}" for k in keys))
    for r in rows:
        print(f"{r['facets']:>8} {r['points']:>7} " + " ".join(
            f"{r[k]:>12.4g}" if k in r else f"{'-':>12}" for k in keys))
    first, last = rows[0], rows[-1]
    ratios = {k: last[k] / first[k] for k in ("value", "jet", "contains")}
    for k, ratio in ratios.items():
        print(f"{k}: time per point at {last['facets']} facets / at {first['facets']} facets = "
              f"{ratio:.2f} (facets x{last['facets'] / first['facets']:.0f})")
    if args.json:
        from kanpde.io.results import write_json

        write_json(args.json, {"command": "python scripts/mesh_distance_cost.py " + " ".join(argv or sys.argv[1:]),
                               "threads": torch.get_num_threads(), "rows": rows, "ratio_largest_to_smallest": ratios})
    return rows


if __name__ == "__main__":
    main()
