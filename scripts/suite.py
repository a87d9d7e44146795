"""The external suite on the automatic path: ``kp.solve(problem)`` with nothing else, per problem and seed.

Every problem of ``suite/`` (public benchmark families, written as a user would) is solved by the automatic
path; the row holds the problem, its family, the seconds, the rel L2 per output (against the exact solution,
or the published data where the module has ``reference_errors``), the target and the classical reference
where one applies (FEM P2 on meshes). ``--quick``: the automatic plan with a tiny schedule (Adam 30, LM 3 on
grid 5, 400 points), to check every problem runs end to end.

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/suite.py [--seeds 0 1 2] [--only NAME ...] [--quick] [--threads 2]
    python scripts/suite.py --table          # rebuild the table from the saved rows

Writes one JSON row per problem and seed under docs/benchmarks/suite/ (kept in git, so the table can always
be rebuilt; results/suite-quick/ for --quick), and the markdown table docs/benchmarks/suite.md (worst of the
seeds run) from all rows saved so far. A ``<name>_seeds.json`` row is a recorded summary (the worst over the
seeds it names, from a table whose per-seed rows were not kept); the first per-seed row of that problem
replaces it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import suite  # noqa: E402
from kanpde.files import atomic_write, replace_block  # noqa: E402
from kanpde.io.results import trained_grids  # noqa: E402
from kanpde.train.sizing import auto_plan, describe  # noqa: E402

TABLE = ROOT / "docs" / "benchmarks" / "suite.md"
ROWS = ROOT / "docs" / "benchmarks" / "suite"
README, START, END = ROOT / "README.md", "<!-- suite:start -->", "<!-- suite:end -->"

# Diagnoses of the misses of the last recorded runs (2026-12-07, on a 2-core box at load 15-23; kovasznay, stokes
# and cavity_re100 with --limit 1500, the others 480-600 s). Kept with the table; update them with the run.
NOTES = {
    "kovasznay": "seeds 0-2 on 2 threads on the quiet machine (2026-12-07 afternoon, nothing else running), with J^T J "
                 "from the supported gram (commit 43e31a8): u 1.2e-5, 5.8e-5, 2.7e-5; v 4.4e-5, 1.7e-4, 1.1e-4; p 3.3e-5, "
                 "1.0e-4, 5.9e-5 in 197, 189, 182 s wall (with scipy's CSR J^T J an hour earlier: v 5.6e-5, 1.6e-4, 8.5e-5 "
                 "in 296, 284, 308 s). The suite's 1e-3 is met on all three; the peer bar of issue #26 (u, v <= 1e-4 within "
                 "300 s) on seed 0 only: now within the time on every seed, v misses on seeds 1 and 2 (1.7e-4, 1.1e-4). "
                 "The plan: [2, 10, 3] KAN to grid 80, 9000 points, 28 100 rows x 4263 parameters at grid 80; fewer "
                 "points overfit at grid 80 (earlier runs, seed 1: 6000 points v 1.6e-4, 3000: v 2.2e-4). Why seeds 1-2 miss "
                 "(2026-12-07 evening, seed 1, the validation terms logged): from grid 40 on the grid ranges' 5 % "
                 "margin puts ~4 knot cells beyond each side of the domain whose splines nothing pins; residual spikes "
                 "at the corner (-0.5, 1.5) raise the validation loss 6x over the grid-80 stage while the error falls "
                 "(v 1.6e-4 -> 9.0e-5 at 13 500 points; 6.3e-5 after the Galerkin iteration), so the run ends on an "
                 "earlier model (v 1.6e-4). Tried, not kept: all ranges with no margin (seed 1: the validation loss "
                 "falls to the end, v 1.3e-4; with 20 LM iterations at grid 80 instead of 12: v 9.7e-5 in 220 s, "
                 "but seed 2 then ends at 2.2e-4 against 1.1e-4), only the input layer on the domain's box (worse on "
                 "all seeds: v 9.4e-5, 1.9e-4, 1.4e-4; the validation loss rose 30x at grids 20-40), half a cell "
                 "of margin (the validation loss still rose 3x), the PDE collocated on boundary points too (seed 1 "
                 "v 1.6e-4), 13 500 points (v 1.6e-4 kept; 200 s)",
    "cavity_re100": "measured against the converged Taylor-Hood P2/P1 centre lines (h = 1/128; h = 1/64 agrees to "
                    "3e-5 at the stations), since Ghia's tables stand 6.2e-3 (u) and 3.6e-2 (v) off the converged flow "
                    "themselves (the ghia column in the rows). The automatic path ([2, 10, 3] KAN to grid 80, 8500 "
                    "points) ends at u 0.12, 0.18, 0.15 and v 0.43, 0.59, 0.53 on seeds 0, 1, 2 in 201-241 s (2 threads, "
                    "load ~2): the flow's vortex stays in the upper half and the lower half nearly stagnates. Diagnosed (2026-12-07, seed 0): not the time, not the balancer "
                    "(balance=None: u 0.10, v 0.33), not capacity (the same KAN fitted by least squares to the FEM "
                    "field reaches u 1.7e-2, v 4.2e-3 at grid 20, u 2.5e-3, v 4.0e-3 with the corners' r < 0.1 left "
                    "out), and not a Reynolds-number basin (continuation Re 1 -> 10 -> 30 -> 100 ends at the same u "
                    "0.11, v 0.35 at grid 20). Width helps some ([2, 20, 3]: u 3.3e-2, v 8.0e-2 against Ghia at grid "
                    "40, at 4x the LM cost); down-weighting the residual and the lid data near the corners did not, and "
                    "neither did a lid smoothed to 0 over 0.05 at the corners (whose converged FEM flow moves the "
                    "centre lines by only 8.7e-4; the KAN still ends at u 0.085, v 0.26 at grid 20), so the corner "
                    "singularity is not the cause either. What the runs share: the momentum residual stalls at a mean "
                    "square ~5e-3 spread over the whole cavity, the size of the viscous term itself in the core, so "
                    "the core is an inviscid-like flow that the residual does not pin down. A deeper [2, 10, 10, 3] KAN "
                    "is no better (u 0.096, v 0.32 at grid 20, 351 s). Next to try: separate hidden layers per "
                    "output, and a residual that reaches ~1e-6 in the core",
    "stokes": "seed 0 (a recorded row: cut at the 1500 s wall limit inside grid 80, 279 CPU s, load 15-23): u 7.0e-6, "
              "v 6.0e-7, p 1.5e-4; seeds 1, 2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): "
              "p 7.2e-4, 1.6e-4 in 184, 149 s; met on all three",
    "reaction_diffusion": "met on seeds 0-2 (2.4e-7, 9.4e-5, 1.4e-7) with cold time windows on grids 5..40 and 3000 "
                          "points each; the three seeds ran side by side at load ~16 (~100 CPU s each) and reached the "
                          "600 s limit in the last window's last stage; seed 1 (9.4e-5) is the closest to the target",
    "poisson_tet3d": "met on seeds 0-2 (4.2e-5, 2.4e-5, 2.7e-6; 47-73 s wall on 1 thread at load ~3): the Dirichlet "
                     "condition stays soft (no distance function for 3-D mesh domains yet: the plan says so); the "
                     "Galerkin iterate the run ends on cost seed 0 a factor 3 (1.3e-5 before it). Point location in "
                     "3-D meshes is O(log cells) (geometry.mesh_domain.SimplexLocator, also in FEM interpolation); the "
                     "FEM P2 reference runs on the file's mesh (h=0.2 refined it to 31k tetrahedra and did not finish "
                     "in 300 s)",
    "elasticity": "seeds 0-2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): u 1.5e-9, 2.4e-9, "
                  "2.0e-8; v 1.5e-9, 1.6e-9, 3.4e-8 in 79-89 s",
    "helmholtz_square_k4": "seeds 0-2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): 7.8e-10, "
                           "2.1e-8, 3.3e-8 in 32-36 s",
    "helmholtz_square_k7": "seeds 0-2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): 1.2e-6, "
                           "1.2e-5, 7.0e-6 in 30-35 s",
    "helmholtz_square_k10": "seeds 0-2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): 8.7e-8, "
                            "7.4e-7, 5.6e-7 in 48-54 s",
    "helmholtz_disk_k6": "seeds 0-2 on the quiet machine (2026-12-07 afternoon, 2 threads, commit 78197c9): 1.2e-7, "
                         "1.2e-7, 1.4e-7 in 64-76 s",
    "inverse_diffusion": "seeds 0-2 (2026-12-07 afternoon, 2 threads, commit ea0c0dc): u 5.9e-4, 7.6e-4, 8.1e-4 and D = "
                         "0.70013, 0.70019, 0.70018 (true 0.7) in 25-28 s. Before that commit every seed ended at 1.2e-2 "
                         "with D = 0.40: from grid 40 on the NTK balancer weighs the PDE 1e-4 and the 200 noisy data 7e3, "
                         "the grid-80 model fits the noise, and the final Galerkin iterate of that model was adopted "
                         "over the better grid-20 one, whose D the kept state did not even hold (both fixed)",
}


def quick_config(config):
    """The planned config cut to a smoke-test size (the plan's points and grids are kept in its decisions)."""
    schedule = [kp.Adam(30, lr=1e-2), kp.LM(3, grid=5)]
    marching = dataclasses.replace(config.marching, windows=2) if config.marching is not None else None
    return dataclasses.replace(config, interior_points=400, boundary_points=100, schedule=schedule,
                               marching=marching, verbose=False)


def time_limit(seconds: float | None, row: dict):
    """A callback that stops training once ``seconds`` have passed (and notes it in ``row``)."""
    started = time.perf_counter()

    def stop(record) -> bool:
        if seconds is not None and time.perf_counter() - started > seconds:
            row["stopped_at_limit"] = seconds
            return True
        return False
    return stop


def run_one(name: str, seed: int, quick: bool, limit: float | None = None) -> dict:
    """Solve suite problem ``name`` on the automatic path; the row (an ``error`` entry where it raised).
    ``limit``: stop training after this many seconds (the model then is the one reached)."""
    module = suite.load(name)
    row = {"problem": name, "family": module.FAMILY, "target": module.TARGET, "seed": seed, "quick": quick}
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    try:
        config = kp.TrainConfig(seed=seed, verbose=False, callbacks=[time_limit(limit, row)])
        model, config, decisions = auto_plan(module.problem, None, config)
        print(f"[{name} seed {seed}] {describe(decisions)}", flush=True)
        if quick:
            config = quick_config(config)
        solution = kp.solve(module.problem, model, config)
        row["train_seconds"] = solution.elapsed
        row["grids_trained"] = trained_grids(solution)  # where a time limit stopped it
        errors = module.reference_errors(solution) if hasattr(module, "reference_errors") else solution.errors()
        row.update(decisions=decisions, errors=errors, rel_l2=per_output(errors, module.problem.outputs),
                   parameters=dict(solution.parameters) or None)
    except Exception as exc:  # a miss stays in the table with its reason
        row["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    row["seconds"] = time.perf_counter() - started
    row["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]  # 1-minute load average before and after
    row["cpu_seconds"] = time.process_time() - cpu  # on a loaded machine far below the wall time
    if not quick and hasattr(module, "classical"):
        try:
            row["classical"] = module.classical()
        except Exception as exc:
            row["classical"] = {"method": "FEM", "error": f"{type(exc).__name__}: {exc}"}
    return row


def per_output(errors: dict, outputs) -> dict:
    """rel L2 per output name (the overall number for one output)."""
    given = [o for o in outputs if isinstance(errors.get(o), dict)]
    if len(outputs) == 1 or not given:
        return {outputs[0] if len(outputs) == 1 else "all": errors["rel_l2"]}
    return {o: errors[o]["rel_l2"] for o in given}


def save_row(row: dict, folder: Path) -> Path:
    path = folder / f"{row['problem']}_seed{row['seed']}.json"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{row['problem']}_seeds.json").unlink(missing_ok=True)  # a recorded summary gives way to seed rows
    return atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(row, indent=1, default=str)))


def load_rows(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.2e}"


def table(rows: list[dict]) -> str:
    """Markdown: one line per problem, the worst of its seeds."""
    lines = ["| problem | family | seeds | seconds (max) | CPU s | rel L2 per output (worst) | target | met | classical |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in suite.NAMES:
        mine = [r for r in rows if r["problem"] == name]
        if not mine:
            lines.append(f"| {name} | {suite.load(name).FAMILY} | - | - | - | not run | - | - | - |")
            continue
        failed = [r for r in mine if "error" in r]
        worst: dict = {}
        for r in mine:
            for out, value in (r.get("rel_l2") or {}).items():
                worst[out] = max(worst.get(out, 0.0), value if value is not None and math.isfinite(value) else math.inf)
        errors = ", ".join(f"{o} {_fmt(v)}" for o, v in worst.items()) or "-"
        if failed:
            errors += f"; raised: {failed[0]['error'][:80]}"
        learned = {k: v for r in mine for k, v in (r.get("parameters") or {}).items()}
        if learned:
            errors += "; learned " + ", ".join(f"{k} = {v:.5g}" for k, v in learned.items())
        if any("stopped_at_limit" in r for r in mine):
            errors += " (stopped at the time limit)"
        target = mine[0]["target"]
        met = "yes" if worst and not failed and max(worst.values()) <= target else "no"
        classical = mine[0].get("classical") or {}
        cls = f"{classical.get('method', '')} {_fmt(classical.get('rel_l2'))}".strip() if classical else "-"
        seeds = ",".join(str(r["seed"]) for r in mine)
        seconds = max(r["seconds"] for r in mine)
        cpu = max((r["cpu_seconds"] for r in mine if "cpu_seconds" in r), default=None)
        cpu = "-" if cpu is None else f"{cpu:.0f}"
        lines.append(f"| {name} | {mine[0]['family']} | {seeds} | {seconds:.0f} | {cpu} | {errors} | {target:.0e} | "
                     f"{met} | {cls} |")
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict], path: Path = TABLE, readme: Path | None = README) -> Path:
    """The suite page (table and notes) and, where ``readme`` has the suite markers, its table and misses."""
    text = ("# External suite on the automatic path\n\n"
            "`python scripts/suite.py --seeds 0 1 2 --threads 2` (rows in docs/benchmarks/suite/, or `--out DIR`); each problem solved by `kp.solve(problem)` "
            "alone. Seconds are wall time on a shared 2-core box whose load varied between runs (newer rows "
            "record the load average before and after; CPU s: the run's own CPU time); "
            "'stopped at the time limit': training was cut at `--limit` seconds and the model reached is scored.\n\n"
            + table(rows) + "\n## Notes and diagnoses\n\n"
            + "".join(f"- **{name}**: {note}\n" for name, note in NOTES.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    if readme is not None:
        replace_block(readme, START, END, readme_block(rows))
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def readme_block(rows: list[dict]) -> str:
    """The README's suite block: the table, then which problems miss their target or were not run."""
    lines = table(rows).splitlines()
    missed = [line.split("|")[1].strip() for line in lines[2:] if line.split("|")[8].strip() != "yes"]
    return ("<!-- generated by scripts/suite.py --table from its JSON rows -->\n\n" + "\n".join(lines) + "\n\n"
            + (f"Not met or not run in these rows: {', '.join(missed)} "
               "(diagnoses in [the suite page](docs/benchmarks/suite.md)).\n" if missed else "Every problem met its target.\n"))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=suite.NAMES, metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="a tiny schedule: checks every problem runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=float, default=600.0,
                        help="stop a problem's training after this many seconds (default 600, the acceptance bar)")
    parser.add_argument("--table", action="store_true", help="only rebuild the table from saved rows")
    parser.add_argument("--out", default=None,
                        help="folder of the JSON rows (default docs/benchmarks/suite/; --quick: results/suite-quick/)")
    args = parser.parse_args(argv)
    folder = Path(args.out) if args.out else ROWS
    folder = ROOT / "results" / "suite-quick" if args.quick and not args.out else folder
    rows = []
    if not args.table:
        torch.set_num_threads(args.threads)
        for name in args.only or suite.NAMES:
            for seed in args.seeds:
                row = run_one(name, seed, args.quick, args.limit)
                save_row(row, folder)
                rows.append(row)
                print(f"{name} seed {seed}: {row.get('rel_l2') or row.get('error')} in {row['seconds']:.0f} s",
                      flush=True)
    if not args.quick:
        print(write_table(load_rows(folder)).read_text())
    return rows


if __name__ == "__main__":
    main()
