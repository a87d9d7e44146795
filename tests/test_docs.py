"""The documentation site builds with `mkdocs build --strict` (a broken reference or link fails), and the API
reference lists every public name of kanpde."""

import os
import re
import subprocess
import sys
from pathlib import Path

import kanpde

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_lists_every_public_name():
    page = (ROOT / "docs" / "api.md").read_text()
    headings = set(re.findall(r"^### `kp\.(\w+)`\n\n::: kanpde\.[\w.]+$", page, flags=re.M))
    missing = sorted(set(kanpde.__all__) - headings)
    assert not missing, f"docs/api.md lacks {missing}: add a '### `kp.NAME`' heading and '::: kanpde.NAME'"


def test_docs_nav_leaves_out_the_pages_other_tools_write():
    nav = (ROOT / "mkdocs.yml").read_text().split("nav:", 1)[1]
    for page in re.findall(r":\s*(\S+\.md)", nav):
        assert (ROOT / "docs" / page).is_file(), page


def test_mkdocs_build_strict(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "TrainConfig" in api and "export_solution" in api and "Dirichlet" in api
    gallery = (tmp_path / "site" / "examples" / "index.html").read_text()
    assert gallery.count("<img") >= 12                       # every example's figure
    assert gallery.count("KANPDE_EXAMPLE_SCALE") >= 12       # and its script, included from examples/
