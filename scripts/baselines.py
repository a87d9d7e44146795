"""Honest baselines: ``kanpde compare`` on benchmark problems, then one generated markdown table.

    python scripts/baselines.py --problems poisson2d heat1d poisson5d       # runs compare, writes JSON + md
    python scripts/baselines.py --table-only                                # regenerate the md from the JSON
    python scripts/baselines.py --problems poisson2d --quick --out /tmp/b   # small KAN and budgets (tests)

For each problem, ``OUT/NAME.json`` (and its ``.png`` figure) come from ``kanpde compare NAME --json
OUT/NAME.json``; ``OUT/baselines.md`` is generated from every ``*.json`` in OUT: per problem the fastest
method to rel L2 1e-3, 1e-6 and to the KAN's final error (with its time), and a plain statement of where
the classical methods win and where the KAN wins, read off the same numbers. The same table replaces the
block between ``<!-- baselines:start -->`` and ``<!-- baselines:end -->`` in README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kanpde.cli import main as kanpde_main  # noqa: E402
from kanpde.compare import METHODS, first_time  # noqa: E402
from kanpde.files import atomic_write, replace_block  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "benchmarks"
START, END = "<!-- baselines:start -->", "<!-- baselines:end -->"
LABELS = {"kan": "KAN", "fd2": "FD2", "fd4": "FD4", "fem_p1": "FEM P1", "fem_p2": "FEM P2", "spectral": "spectral"}


def fastest(data: dict, error: float) -> tuple[str | None, float | None]:
    """``(method, seconds)`` of the method that first reaches rel L2 ``error``; ``(None, None)`` if none does."""
    times = {m: first_time(data.get(m) or [], error) for m in METHODS}
    reached = {m: t for m, t in times.items() if t is not None}
    if not reached:
        return None, None
    method = min(reached, key=reached.get)
    return method, reached[method]


def _cell(method, seconds) -> str:
    return "none within budget" if method is None else f"{LABELS[method]} {seconds:.3g} s"


def _best_baseline(data: dict) -> tuple[str | None, float]:
    errors = {m: min(r["rel_l2"] for r in data[m]) for m in METHODS[1:] if data.get(m)}
    if not errors:
        return None, float("inf")
    method = min(errors, key=errors.get)
    return method, errors[method]


NOTES = {  # caveats the numbers cannot show (what each side was given), not results
    "poisson_lshape": "the KAN takes the corner singular function r^(2/3) sin(2θ/3) as an extra input "
                      "(problem(features=True)); the FEM ladders refine uniformly, so their order is "
                      "singularity-limited (L2 ~ h^(4/3)); graded meshes or singular enrichment would move them.",
    "laplace_mixed": "the baselines solve the all-Dirichlet problem with the same solution (no Neumann/Robin sides).",
    "laplace_mesh": "the baselines solve the all-Dirichlet problem with the same solution (no Neumann sides).",
    "heat1d": "time-dependent baselines are method-of-lines (solve_ivp BDF, rtol 1e-10), which floors them near 1e-9.",
    "heat2d": "time-dependent baselines are method-of-lines (solve_ivp BDF, rtol 1e-10), which floors them near 1e-9.",
}


def _budget(data: dict) -> str:
    settings = data.get("settings", {})
    return f"{settings.get('max_dofs', 0):.0e} unknowns and {settings.get('rung_seconds', 0):g} s per rung"


def verdict(name: str, data: dict) -> str:
    """Measured sentences: who reaches the KAN's final error first, and how long the KAN needs to reach the
    best baseline's error (both ways)."""
    kan = data.get("kan") or []
    if not kan:
        return f"**{name}**: no KAN run."
    error, kan_time = kan[-1]["rel_l2"], kan[-1]["seconds"]
    method, seconds = fastest({m: data.get(m) for m in METHODS if m != "kan"}, error)
    best, best_error = _best_baseline(data)
    if method is None:
        limit = (f"the best baseline ({LABELS[best]}) stopped at {best_error:.2e} within its budget "
                 f"({_budget(data)})" if best else "no classical baseline applies")
        text = f"**{name}**: the KAN wins: it reaches {error:.2e} in {kan_time:.3g} s; {limit}."
    else:
        text = (f"**{name}**: classical wins: {LABELS[method]} reaches the KAN's final error {error:.2e} in "
                f"{seconds:.3g} s, {kan_time / max(seconds, 1e-9):,.0f}x faster than the KAN's {kan_time:.3g} s.")
    if best is not None:
        best_time = first_time(data[best], best_error)
        kan_to_best = first_time(kan, best_error)
        reached = f"in {kan_to_best:.3g} s" if kan_to_best is not None else "not at all"
        text += (f" The other way: {LABELS[best]}'s best error {best_error:.2e} took it {best_time:.3g} s; "
                 f"the KAN reaches it {reached}.")
    return text + (f" Note: {NOTES[name]}" if name in NOTES else "")


def summary(results: dict, verdicts: bool = True) -> list[str]:
    """The table and (with ``verdicts``) the measured verdicts, as markdown lines."""
    lines = ["| problem | KAN final rel L2 (time) | fastest to 1e-3 | fastest to 1e-6 | fastest to the KAN's error "
             "| best baseline error |",
             "|---|---|---|---|---|---|"]
    for name, data in results.items():
        kan = data.get("kan") or []
        kan_cell = f"{kan[-1]['rel_l2']:.2e} ({kan[-1]['seconds']:.3g} s)" if kan else "—"
        cells = [_cell(*fastest(data, e)) for e in (1e-3, 1e-6)]
        cells.append(_cell(*fastest(data, kan[-1]["rel_l2"])) if kan else "—")
        best, best_error = _best_baseline(data)
        best_cell = f"{LABELS[best]} {best_error:.2e}" if best else "none applies"
        lines.append(f"| {name} | {kan_cell} | " + " | ".join(cells) + f" | {best_cell} |")
    if verdicts:
        lines += ["", "Where each side wins (measured):", ""]
        lines += [f"- {verdict(name, data)}" for name, data in results.items()]
    return lines


def winners(results: dict) -> list[str]:
    """One line each: the problems where the KAN is first to its own final error, and where a baseline is."""
    kan_first, classical_first = [], []
    for name, data in results.items():
        kan = data.get("kan") or []
        if kan:
            method, _ = fastest(data, kan[-1]["rel_l2"])
            (kan_first if method in (None, "kan") else classical_first).append(name)
    return [f"The KAN is the faster way to its own final error on: {', '.join(kan_first) or 'none'}. "
            f"A classical method is faster on: {', '.join(classical_first) or 'none'}."]


def table(results: dict) -> str:
    """The markdown document for ``{name: compare JSON}``."""
    lines = ["# Baselines: the KAN beside FD, FEM and spectral methods", "",
             "Generated by `python scripts/baselines.py` from the `kanpde compare` JSON files in this folder "
             "(do not edit by hand). Each cell is the method that reaches the relative L2 error first, and "
             "its wall time (baselines: the first rung of a refinement ladder at or below the error; the KAN: "
             "the training time at which its history first shows it). Times were measured on a shared 2-core "
             "machine under load and are inflated; the errors are not.", ""]
    lines += summary(results)
    lines += ["", "## Commands", ""]
    lines += [f"- {name}: `{data.get('command', '?')}`" for name, data in results.items()]
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, results: dict) -> bool:
    """Replace the block between the README's baseline markers with the generated summary; False when the
    README has no markers."""
    block = "\n".join(["<!-- generated by scripts/baselines.py from docs/benchmarks/*.json -->", ""]
                      + summary(results, verdicts=False) + [""] + winners(results) + [""])
    return replace_block(readme, START, END, block)


def load_results(out: Path) -> dict:
    """The ``kanpde compare`` results among the folder's JSON files (those with a ``kan`` ladder; other
    scripts write their own JSON beside them)."""
    results = {path.stem: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}
    return {name: r for name, r in results.items() if isinstance(r, dict) and "kan" in r}


def write_table(out: Path) -> Path:
    text = table(load_results(out))

    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(out / "baselines.md", write)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=[], help="problems to run compare on")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder for NAME.json, NAME.png, baselines.md")
    parser.add_argument("--quick", action="store_true", help="small KAN and budgets (tests)")
    parser.add_argument("--table-only", action="store_true", help="only regenerate baselines.md from the JSON")
    parser.add_argument("--readme", default=str(ROOT / "README.md"),
                        help="README whose baselines block (between the markers) is regenerated ('' for none)")
    args = parser.parse_args(argv)
    out = Path(os.path.relpath(args.out))  # relative paths in the recorded commands
    if not args.table_only:
        for name in args.problems:
            command = ["compare", name, "--json", str(out / f"{name}.json")] + (["--quick"] if args.quick else [])
            status = kanpde_main(command)
            if status != 0:
                return status
    print(f"wrote {write_table(out)}")
    if args.readme and update_readme(Path(args.readme), load_results(out)):
        print(f"updated the baselines block of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
