"""scripts/stage_diagnostics.py: per-stage train / fresh loss and rel L2, and the error's low sine modes."""

import math
from types import SimpleNamespace

import torch

from conftest import load_script


def test_low_mode_shares_find_an_error_in_the_lowest_mode():
    script = load_script("stage_diagnostics")
    mode = lambda x: 1e-3 * torch.cos(math.pi * x[:, :1] / 2) * torch.cos(math.pi * x[:, 1:] / 2)  # noqa: E731
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(4 * math.pi * x[:, 1:])  # noqa: E731
    for error, lowest in ((mode, 0.99), (lambda x: 1e-3 * torch.sin(8 * math.pi * x[:, :1]), None)):
        problem = SimpleNamespace(domain=SimpleNamespace(bounds=((-1.0, -1.0), (1.0, 1.0))),
                                  model_for_fields=lambda model, e=error: (lambda x: exact(x) + e(x)),
                                  solution_values=exact)
        shares = script.low_mode_shares(problem, None, n=64)
        if lowest is None:
            assert shares[4] < 0.01  # sin(8 pi x) is the sine mode m = 9 on [-1, 1]
        else:
            assert shares[1] > lowest and shares[1] <= shares[2] <= shares[4] <= 1 + 1e-9


def test_stage_diagnostics_reports_every_stage(capsys):
    rows = load_script("stage_diagnostics").main(["--points", "60", "--stages", "a2,5:1", "--steps", "--fresh", "100",
                                                  "--threads", "1"])
    assert [r["stage"] for r in rows] == ["a2", "5:1"]
    assert all(r["train"] > 0 and r["fresh"] > 0 and r["rel_l2"] > 0 for r in rows)
    assert set(rows[-1]["low_modes"]) == {1, 2, 4}
    out = capsys.readouterr().out
    assert "fresh" in out and "rel L2" in out and "lowest sine modes" in out
