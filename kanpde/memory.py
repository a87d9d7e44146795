"""Memory estimates: sizes that cannot fit are rejected before anything is allocated.

    bytes = elements * itemsize,

checked against the machine's physical memory (or the CUDA device's), so that a typo
like ``interior_points=10**12`` is a clear ValueError instead of an out-of-memory kill.
"""

from __future__ import annotations

import os

import torch


def available_bytes(device: str | torch.device = "cpu") -> int:
    """Total memory of ``device``: physical RAM for the CPU, the device's memory for CUDA."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(device.index or 0).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume a generous 1 TiB
        return 1 << 40


def check_fits(elements: float, what: str, itemsize: int = 8, device: str | torch.device = "cpu") -> None:
    """Raise ValueError when ``elements * itemsize`` bytes exceed the device's memory.

    Args:
        elements: number of tensor elements the operation would allocate (an estimate).
        what: the argument or operation, named in the message.

    Raises:
        ValueError: with the estimate and the memory available.
    """
    need = float(elements) * itemsize
    have = available_bytes(device)
    if need > have:
        raise ValueError(f"{what} needs about {human(need)} but the {torch.device(device).type} device has "
                         f"{human(have)}; use fewer points or a smaller model")


def human(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} B"
