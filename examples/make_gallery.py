"""Run every example at full size and put its figure, shrunk, under docs/examples/ (and the README's under docs/img/).

Usage: python examples/make_gallery.py [--from DIR] [--only 01 02 ...]
    --from DIR   take the figures from DIR (an earlier run's KANPDE_EXAMPLE_OUT) instead of running the examples
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
MAX_WIDTH = 1000          # pixels; with a 256-colour palette each figure stays well under 150 kB


def run_examples(out: Path, only) -> None:
    for script in sorted(HERE.glob("[0-9][0-9]_*.py")):
        if only and script.name[:2] not in only:
            continue
        print("running", script.name, flush=True)
        env = dict(os.environ, KANPDE_EXAMPLE_SCALE="1", KANPDE_EXAMPLE_OUT=str(out), MPLBACKEND="Agg")
        subprocess.run([sys.executable, str(script)], env=env, check=True, cwd=out)


def shrink(source: Path, target: Path) -> None:
    image = Image.open(source).convert("RGB")
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    palette.save(target, optimize=True)
    print(f"{target.relative_to(DOCS.parent)}: {target.stat().st_size / 1000:.0f} kB")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args(argv)
    out = args.source or Path(tempfile.mkdtemp(prefix="kanpde-gallery-"))
    if args.source is None:
        run_examples(out, args.only)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from test_examples import FIGURES
    for script, figure in FIGURES.items():
        if (out / figure).exists() and (not args.only or script[:2] in args.only):
            shrink(out / figure, DOCS / "examples" / figure)
    if (out / "poisson.png").exists() and (not args.only or "01" in args.only):
        shrink(out / "poisson.png", DOCS / "img" / "poisson.png")


if __name__ == "__main__":
    main()
