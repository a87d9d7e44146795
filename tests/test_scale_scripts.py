"""The scaling scripts run end to end at tiny sizes and report what they claim to."""

import json
from pathlib import Path

import pytest

from conftest import load_script as _script


def test_bench_scale_rows(tmp_path, capsys):
    rows = _script("bench_scale").main(["--ranks", "1", "--points", "100", "200", "--steps", "5",
                                        "--out", str(tmp_path)])
    assert [(r["ranks"], r["points"]) for r in rows if r["device"] == "cpu"] == [(1, 100), (1, 200)]
    assert all(r["ms_per_step"] > 0 for r in rows)
    assert len(json.loads((tmp_path / "bench_scale.json").read_text())["rows"]) == len(rows)
    assert "ms/step" in capsys.readouterr().out


def test_poisson10d_reports_the_error(tmp_path):
    row = _script("poisson10d").main(["--nproc", "1", "--points", "200", "--scale", "0.02", "--out", str(tmp_path)])
    assert row["problem"] == "poisson10d" and 0 < row["rel_l2"] < 1
    assert json.loads((tmp_path / "poisson10d.json").read_text())["rel_l2"] == row["rel_l2"]


@pytest.mark.slow  # four fresh processes, each importing torch
def test_memory_bound_measures_every_phase(capsys):
    peaks = _script("memory_bound").main(["--n", "20"])
    assert set(peaks) == {"baseline", "predict", "predict_one_batch", "export"}
    assert all(p > 0 for p in peaks.values())
    assert "bytes/point" in capsys.readouterr().out
