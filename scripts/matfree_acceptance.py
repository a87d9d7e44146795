"""Acceptance of the matrix-free Levenberg-Marquardt (#27): dense against matrix-free, side by side in one run.

Each side runs in its own child process (``scripts/bench_matfree.py --one CASE SOLVER``), so its peak RSS is
its own (the child's ``ru_maxrss``, i.e. its VmHWM); both sides get the same problem, model, seed and threads,
one after the other, and the machine's load average is recorded before and after each. Cases:

- ``helmholtz2d``: ``problems/helmholtz2d.config()`` (Adam, LM on grids 5 -> 120 at 40 000 points, one Galerkin
  iteration), every LM stage forced dense / cg. Targets: cg peak RSS <= 1.5 GiB, cg wall <= 0.5x dense,
  cg rel L2 <= 2e-5.
- ``system3``: three coupled Poisson equations, a [2, 20, 3] KAN at grid 40 on 20 000 points, 10 LM
  iterations. Targets: seconds per LM iteration cg <= 0.3x dense, the loss after 10 iterations within 10 %.
- ``system3_iteration``: the same system and KAN, one LM iteration's work (J, the damped system, the step at
  mu = 1e-3) dense and matrix-free alternately in one process (``bench_matfree.py --ab 40 POINTS --ab-case
  system3``; ``--points``, default 20 000): the per-iteration ratio where the 10-iteration runs do not fit the
  time at hand. Target: <= 0.3x.
- ``poisson2d``: the problem's recommended config with solver="cg" (matrix-free only). Target: rel L2 <= 2e-7.
- ``poisson3d_big``: a [3, 20, 20, 1] KAN on 100 000 points in 3-D, ``--steps`` LM iterations (matrix-free
  only: the dense J alone is 3.9 GB). Target: peak RSS <= 4 GiB; the rel L2 reached is reported.

Every case's rows, ratios, targets, load and command go into ``docs/benchmarks/matfree_acceptance.json``
(other cases' entries kept), and ``docs/benchmarks/performance.md`` is regenerated from that JSON.

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/matfree_acceptance.py CASE [CASE ...] [--threads 2] [--steps 2]
    python scripts/matfree_acceptance.py --table-only        # performance.md from the JSON alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kanpde.files import atomic_write  # noqa: E402

BENCH = ROOT / "scripts" / "bench_matfree.py"
JSON = ROOT / "docs" / "benchmarks" / "matfree_acceptance.json"
PAGE = ROOT / "docs" / "benchmarks" / "performance.md"
GRAM_JSON = ROOT / "docs" / "benchmarks" / "gram.json"  # written by scripts/bench_gram.py --json
GIB = 2 ** 30

# case -> (solvers, targets); a target is (description, row key or ratio key, side, limit)
CASES = {
    "helmholtz2d": (("dense", "cg"), [("peak RSS (GiB), matrix-free", "peak_rss_gib", "cg", 1.5),
                                      ("wall time, matrix-free / dense", "wall_s", "ratio", 0.5),
                                      ("rel L2, matrix-free", "rel_l2", "cg", 2e-5)]),
    "system3": (("dense", "cg"), [("seconds per LM iteration, matrix-free / dense", "lm_seconds_per_iteration",
                                   "ratio", 0.3),
                                  ("loss after 10 iterations: abs(matrix-free / dense - 1)", "final_loss",
                                   "ratio-1", 0.1)]),
    "system3_iteration": ((), [("one LM iteration, matrix-free / dense", "ratio", "ab", 0.3)]),
    "poisson2d": (("cg",), [("rel L2, matrix-free", "rel_l2", "cg", 2e-7)]),
    "poisson3d_big": (("cg",), [("peak RSS (GiB), matrix-free", "peak_rss_gib", "cg", 4.0)]),
}


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(threads: int) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, {threads} thread{'s' * (threads > 1)} per run (CPU; no GPU)"


def run_side(case: str, solver: str, threads: int, steps: int | None, root: Path = ROOT) -> dict:
    """One side in a child process: bench_matfree's row, plus the load before and after. ``root``: the checkout
    whose code runs it (``--dense-from``: the dense side as an older commit had it)."""
    command = [sys.executable, str(root / BENCH.relative_to(ROOT)), "--one", case, solver, "--threads", str(threads)]
    if steps is not None:
        command += ["--steps", str(steps)]
    before = load()
    done = subprocess.run(command, capture_output=True, text=True, cwd=root,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE",
                               "PYTHONPATH": str(root)})
    found = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    row = json.loads(found[-1][7:]) if found else {"case": case, "solver": solver, "error": done.stderr[-3000:]}
    row.update(load_before=before, load_after=load())
    if root != ROOT:
        row["code"] = commit_of(root)
    print(json.dumps({k: v for k, v in row.items() if k != "lm_losses"}), flush=True)
    return row


def commit_of(root: Path) -> str:
    """The commit a checkout is at (``git rev-parse HEAD``), or its path where it is no git checkout."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root)
    return done.stdout.strip() or str(root)


def run_iteration_ab(case: str, threads: int, points: int) -> dict:
    """``system3_iteration``: bench_matfree's one-iteration A/B in a child process, plus the load."""
    command = [sys.executable, str(BENCH), "--ab", "40", str(points), "--ab-case", case.removesuffix("_iteration"),
               "--repeats", "1", "--threads", str(threads)]
    before = load()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"})
    found = [x for x in done.stdout.splitlines() if x.startswith("AB ")]
    row = json.loads(found[-1][3:]) if found else {"case": case, "error": done.stderr[-3000:]}
    row.update(solver="dense and cg, alternately", load_before=before, load_after=load())
    print(json.dumps(row), flush=True)
    return row


def measured(key: str, side: str, rows: dict) -> float | None:
    """A target's measured value: a side's row entry, or matrix-free over dense (``ratio-1``: |ratio - 1|)."""
    if side in rows:
        return rows[side].get(key)
    dense, cg = rows.get("dense", {}).get(key), rows.get("cg", {}).get(key)
    if not dense or cg is None:
        return None
    return cg / dense if side == "ratio" else abs(cg / dense - 1)


def run_case(case: str, threads: int, steps: int | None, points: int = 20_000, dense_from: Path | None = None) -> dict:
    solvers, targets = CASES[case]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = {solver: run_side(case, solver, threads, steps, dense_from if solver == "dense" and dense_from else ROOT)
            for solver in solvers}
    if not solvers:  # the one-process iteration A/B
        rows = {"ab": run_iteration_ab(case, threads, points)}
    checks = []
    for what, key, side, limit in targets:
        value = measured(key, side, rows)
        checks.append({"target": what, "limit": limit, "measured": value,
                       "met": value is not None and value <= limit})
    command = f"python scripts/matfree_acceptance.py {case} --threads {threads}" + (
        f" --steps {steps}" if steps is not None else "") + (f" --points {points}" if not solvers else "") + (
        f" --dense-from CHECKOUT (at {commit_of(dense_from)})" if dense_from and "dense" in solvers else "")
    return {"date": started, "machine": machine(threads), "threads": threads, "command": command,
            "rows": list(rows.values()), "targets": checks}


def update_json(results: dict, path: Path = JSON) -> dict:
    """Merge ``results`` (case -> entry) into the JSON file, other cases kept."""
    data = json.loads(path.read_text()) if path.exists() else {"cases": {}}
    data["cases"].update(results)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))
    return data


def _fmt(value, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def page(data: dict) -> str:
    """performance.md from the acceptance JSON."""
    lines = ["# Performance: dense against matrix-free Levenberg-Marquardt", "",
             "Generated by `python scripts/matfree_acceptance.py --table-only` from "
             "`docs/benchmarks/matfree_acceptance.json`; each case's command is given with it. Both sides of a case "
             "ran one after the other in one invocation, each in its own process (peak RSS: the process's high-water "
             "mark), on the same problem, model, seed and threads. The machine is a shared CPU box: the load average "
             "(1 / 5 / 15 min) before each side is stated, wall times are inflated by it, and only the ratios of a "
             "case's two sides are meant to be compared. A side that names its code (`code at 6cd689e`) ran with that "
             "commit's code (`--dense-from`): the dense path as the issue found it, before J^T J was summed on each "
             "piece's support (commit 43e31a8) and the direct solve read J's compact rows (commit b5b0dd9). No GPU "
             "was available for these runs, so there are no GPU rows.", ""]
    for case, entry in data["cases"].items():
        lines += [f"## {case}", "", f"`{entry['command']}` on {entry['date']}: {entry['machine']}.", "",
                  "| solver | wall s | LM iterations | s per LM iteration | peak RSS GiB | rel L2 | final loss | "
                  "load before |", "|---|---|---|---|---|---|---|---|"]
        for row in entry["rows"]:
            if "dense_s" in row:  # the one-process iteration A/B
                lines.append(f"| one iteration: dense {row['dense_s']:.1f} s, matrix-free ({row['preconditioner']}, "
                             f"{row['cg_iterations']} CG iterations) {row['cg_s']:.1f} s, {row['points']} points, "
                             f"{row['params']} parameters, steps within {row['step_rel_diff']:.1e} | | | | | | | "
                             f"{' / '.join(str(x) for x in row.get('load_before', []))} |")
                continue
            if "error" in row:
                lines.append(f"| {row['solver']} | failed: {row['error'].strip().splitlines()[-1][:80] if row['error'].strip() else 'killed'} "
                             "| | | | | | |")
                continue
            code = f" (code at {row['code']})" if "code" in row else ""
            lines.append(f"| {row['solver']}{code} ({', '.join(sorted(set(row['stage_solvers'])))}) | {row['wall_s']:.0f} | "
                         f"{row['lm_iterations']} | {row['lm_seconds_per_iteration']:.2f} | {row['peak_rss_gib']:.2f} | "
                         f"{row['rel_l2']:.3g} | {row['final_loss']:.4g} | "
                         f"{' / '.join(str(x) for x in row.get('load_before', []))} |")
        lines += ["", "| target | limit | measured | met |", "|---|---|---|---|"]
        lines += [f"| {t['target']} | {t['limit']:g} | {_fmt(t['measured'])} | {'yes' if t['met'] else 'no'} |"
                  for t in entry["targets"]]
        lines += [""] + [f"- {note}" for note in entry.get("notes", [])] + [""] * bool(entry.get("notes"))
    return "\n".join(lines + gram_section())


def gram_section(path: Path = GRAM_JSON) -> list[str]:
    """The J^T J table of ``scripts/bench_gram.py --json`` (nothing where it has not been run)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    lines = ["## J^T J: dense, CSR and supported products", "",
             f"`{data['command']}` on {data['date']} ({data['threads']} threads, best of {data['repeats']}, load "
             f"{data['load']}): J of helmholtz2d for a [2, 10, 1] KAN; ratios to the dense product.", "",
             "| points | grid | P | fill | dense s | CSR s (ratio) | supported s (ratio) | rel diff |",
             "|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        lines.append(f"| {r['points']} | {r['grid']} | {r['params']} | {r['fill']:.1%} | {r['dense_s']:.3f} | "
                     f"{r['sparse_s']:.3f} ({r['sparse_s'] / r['dense_s']:.2f}) | {r['supported_s']:.3f} "
                     f"({r['supported_s'] / r['dense_s']:.2f}) | {r['rel_diff']:.1e} |")
    return lines + [""]


def write_page(data: dict, path: Path = PAGE) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(page(data)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", choices=[*CASES, []], help="cases to measure")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="LM iterations (poisson3d_big, system3)")
    parser.add_argument("--points", type=int, default=20_000, help="interior points (system3_iteration)")
    parser.add_argument("--table-only", action="store_true", help="only regenerate performance.md from the JSON")
    parser.add_argument("--note", nargs=2, action="append", default=[], metavar=("CASE", "TEXT"),
                        help="add a note to a case's JSON entry (what the rows cannot say: a side killed, ...)")
    parser.add_argument("--dense-from", type=Path, default=None, metavar="CHECKOUT",
                        help="run the dense side with another checkout's code (e.g. a worktree of the commit "
                             "before a change to the dense path), the matrix-free side with this one's")
    parser.add_argument("--json", type=Path, default=JSON)
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    if not args.table_only and not args.cases:
        parser.error(f"name a case (one of {list(CASES)}) or --table-only")
    if args.table_only:
        data = json.loads(args.json.read_text())
        for case, text in args.note:
            data["cases"][case].setdefault("notes", []).append(text)
        if args.note:
            data = update_json(data["cases"], args.json)
    else:
        for case in args.cases:  # merged after each case: a later failure keeps the earlier ones
            data = update_json({case: run_case(case, args.threads, args.steps, args.points, args.dense_from)},
                               args.json)
    write_page(data, args.page)
    missed = [(case, t["target"]) for case in args.cases for t in data["cases"][case]["targets"] if not t["met"]]
    for case, target in missed:
        print(f"not met: {case}: {target}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
