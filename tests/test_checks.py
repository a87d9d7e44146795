"""kanpde.checks: the one home of argument validation (names the argument, what was expected, what came)."""

import math

import numpy as np
import pytest
import torch

from kanpde.checks import check_bool, check_choice, check_float, check_int, finite_points, finite_vector, is_int


def test_is_int_takes_python_and_numpy_ints_but_not_bools():
    assert is_int(3) and is_int(np.int64(3))
    assert not is_int(True) and not is_int(3.0) and not is_int("3")


def test_check_int_normalises_and_names_the_argument():
    assert check_int("grid", np.int32(5), 1) == 5 and type(check_int("grid", np.int32(5), 1)) is int
    assert check_int("seed", None, 0, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^grid must be an int >= 1, got 0$"):
        check_int("grid", 0, 1)
    with pytest.raises(TypeError, match=r"^grid must be an int, got float: 2.5$"):
        check_int("grid", 2.5, 1)
    with pytest.raises(TypeError, match=r"^seed must be an int or None, got bool: True$"):
        check_int("seed", True, 0, allow_none=True)


def test_check_float_bounds_and_finiteness():
    assert check_float("lr", 1, 0.0, strict=True) == 1.0
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got 0.0$"):
        check_float("lr", 0.0, 0.0, strict=True)
    with pytest.raises(ValueError, match=r"^scale must be a finite number >= 0, got -1.0$"):
        check_float("scale", -1, 0.0)
    with pytest.raises(ValueError, match=r"^w must be a finite number, got nan$"):
        check_float("w", math.nan)
    with pytest.raises(TypeError, match=r"^w must be a number, got str: '1'$"):
        check_float("w", "1")


def test_check_bool_and_choice():
    assert check_bool("verbose", False) is False
    with pytest.raises(TypeError, match="verbose must be True or False, got int: 1"):
        check_bool("verbose", 1)
    assert check_choice("method", "sobol", ("sobol", "grid")) == "sobol"
    with pytest.raises(ValueError, match=r"^unknown method 'halton'. Pick one of \('sobol', 'grid'\)$"):
        check_choice("method", "halton", ("sobol", "grid"))
    with pytest.raises(ValueError, match="Pick one of"):
        check_choice("flag", 1, (True, "grow"))            # 1 == True, but only the listed kinds pass


def test_finite_vector_and_points():
    v = finite_vector([1, 2], "lo")
    assert v.dtype == np.float64 and not v.flags.writeable
    for bad, match in (([], "flat sequence"), ([[1, 2]], "flat sequence"), ([1, math.inf], "finite numbers"),
                       (["a"], "numbers for lo")):
        with pytest.raises(ValueError, match=match):
            finite_vector(bad, "lo")
    assert finite_points(torch.ones(4, 2), "x", 2).shape == (4, 2)
    assert finite_points([0.0, 1.0], "x", 1).shape == (2, 1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), got shape \(4, 3\)"):
        finite_points(np.ones((4, 3)), "x", 2)
    with pytest.raises(ValueError, match="x must be finite, got NaN or inf"):
        finite_points([[0.0, math.nan]], "x", 2)
