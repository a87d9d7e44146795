"""The command line: solve a problem defined in your own .py file with `kanpde solve`.

    kanpde solve my_problem.py --grid-schedule 5,10 --adam-steps 100 --lm-steps 10 --out results/cli

The file defines `problem` (a `kp.Problem`); the CLI trains a KAN, runs the FD baseline where
there is one, prints a table and writes summary.json, solution.vtu, solution.png, history.png,
activations.png and model.pt. `kanpde list` shows the registered benchmark problems.
This script writes the problem file, runs the command, reads summary.json and copies the
CLI's history figure to cli.png.

Run: python examples/12_cli.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
OUT.mkdir(parents=True, exist_ok=True)

problem_file = OUT / "my_problem.py"
problem_file.write_text(textwrap.dedent('''
    import math, torch
    import kanpde as kp

    pi = math.pi
    exact = lambda x: torch.sin(pi * x[:, :1]) * x[:, 1:] ** 2          # u = sin(pi x) y^2
    problem = kp.Problem(
        kp.Rectangle((0, 0), (1, 1)),
        lambda x, u: u.laplacian() + pi**2 * exact(x) - 2 * torch.sin(pi * x[:, :1]),
        [kp.Dirichlet(exact)], exact=exact, name="my_problem")
'''))

command = [sys.executable, "-m", "kanpde", "solve", str(problem_file), "--quiet",  # or just: kanpde solve ...
           "--grid-schedule", "5,10", "--adam-steps", str(max(5, round(100 * SCALE))),
           "--lm-steps", str(max(2, round(10 * SCALE))), "--points", str(max(200, round(2000 * SCALE))),
           "--out", str(OUT / "cli")]
print("$", " ".join(command))
subprocess.run(command, check=True)

summary = json.loads((OUT / "cli" / "summary.json").read_text())
print("final loss", summary["final_loss"], "errors", summary["errors"])
shutil.copy(OUT / "cli" / "history.png", OUT / "cli.png")
