"""A cache of results of pure functions of a point set, bounded by the points it holds.

Training asks for the same point sets again and again (the loss at every step, and
Levenberg-Marquardt's Jacobian in chunks of rows), so what depends on the points alone (a
hard constraint's lift and boundary factor, a distance function, a time window's start
values) is computed once per point set. The bound counts cached rows, not entries: a
Jacobian over 30 000 points asks for 30 chunks of 1024 rows in turn, and a cache of a few
entries would miss every one of them.
"""

from __future__ import annotations

from typing import Callable

import torch

from .checks import check_int

DEFAULT_ROWS = 262_144  # rows (points) kept: a few full training sets with their LM chunks


class PointSetCache:
    """Results of a pure function of a point set, kept for the most recent point sets.

    A hit needs the same shape, dtype, device, extra key and equal values (``torch.equal``,
    O(N D), far below the cost of what it saves). The oldest entries go once the cached
    point sets hold more than ``rows`` rows together (the newest entry always stays).

    Args:
        rows: the most rows (points) kept over all entries.

    Raises:
        TypeError: ``rows`` not an int. ValueError: ``rows`` < 1.
    """

    def __init__(self, rows: int = DEFAULT_ROWS):
        self.rows, self._entries = check_int("PointSetCache rows", rows, 1), []

    def get(self, x: torch.Tensor, key, compute: Callable):
        """``compute()``'s result for the point set ``x`` (and ``key``), computed at the first request only."""
        x = x.detach()
        for points, k, result in self._entries:
            if k == key and points.shape == x.shape and points.dtype == x.dtype and points.device == x.device \
                    and torch.equal(points, x):
                return result
        result = compute()
        entries, held = [(x.clone(), key, result)], x.shape[0]
        for entry in self._entries:
            held += entry[0].shape[0]
            if held > self.rows:
                break
            entries.append(entry)
        self._entries = entries
        return result

    def clear(self) -> None:
        """Forget every entry (the function changed, or its point sets will not come again)."""
        self._entries = []

    def __len__(self) -> int:
        return len(self._entries)
