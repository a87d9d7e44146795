"""kanpde.cache.PointSetCache: hits on equal point sets, a bound in rows (not entries)."""

import pytest
import torch

from kanpde.cache import PointSetCache


def counting():
    calls = []

    def compute(x):
        calls.append(x.shape[0])
        return x.sum()
    return calls, compute


def test_hits_on_equal_points_and_key_only():
    calls, compute = counting()
    cache, x = PointSetCache(), torch.rand(10, 2)
    cache.get(x, "a", lambda: compute(x))
    cache.get(x.clone(), "a", lambda: compute(x))      # equal values: a hit
    cache.get(x, "b", lambda: compute(x))              # another key: a miss
    cache.get(x + 1e-3, "a", lambda: compute(x))       # other values: a miss
    assert calls == [10, 10, 10]


def test_many_chunks_of_one_point_set_all_stay_cached():
    """LM asks for a Jacobian in chunks: 40 chunks of 1024 rows must all hit on the second pass (a cache
    bounded by a few entries missed every one)."""
    calls, compute = counting()
    cache = PointSetCache()
    chunks = [torch.rand(1024, 2) for _ in range(40)]
    for _ in range(2):
        for c in chunks:
            cache.get(c, "jet", lambda c=c: compute(c))
    assert len(calls) == 40, f"expected 40 computations (one per chunk), got {len(calls)}"


def test_the_row_bound_drops_the_oldest_entries():
    calls, compute = counting()
    cache = PointSetCache(rows=2500)
    chunks = [torch.rand(1000, 2) for _ in range(3)]
    for c in chunks:
        cache.get(c, "k", lambda c=c: compute(c))
    assert len(cache) == 2                               # 3000 rows > 2500: the first went
    cache.get(chunks[2], "k", lambda: compute(chunks[2]))
    cache.get(chunks[0], "k", lambda: compute(chunks[0]))
    assert len(calls) == 4
    big = torch.rand(5000, 2)
    cache.get(big, "k", lambda: compute(big))
    assert len(cache) == 1                               # the newest stays even above the bound
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("rows, error, message", [(0, ValueError, "rows must be an int >= 1, got 0"),
                                                  (-3, ValueError, "rows must be an int >= 1, got -3"),
                                                  (2.5, TypeError, "rows must be an int, got float"),
                                                  (True, TypeError, "rows must be an int, got bool")])
def test_bad_bound(rows, error, message):
    with pytest.raises(error, match=message):
        PointSetCache(rows=rows)
