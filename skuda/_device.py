"""Device choice and seeding: where a fit runs and what makes it reproducible."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device):
    """Resolve the ``device`` parameter to a torch device (``"auto"``: CUDA if any)."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return str(resolved)


_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(mixed_precision, device):
    """Return the autocast dtype of ``mixed_precision`` on ``device`` (None: none).

    Mixed precision is for CUDA; on any other device it is a no-op, so a fit
    on the CPU is the same with or without it. ``"bf16"`` needs a GPU with
    bfloat16 support (compute capability 8.0 or newer).
    """
    if mixed_precision is None or device is None or torch.device(device).type != "cuda":
        return None
    if mixed_precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"mixed_precision='bf16' was requested on {device}, which does not "
            "support bfloat16; use mixed_precision='fp16' (with loss scaling) or None."
        )
    return _AUTOCAST[mixed_precision]


def draw_seeds(random_state):
    """Two seeds (weights/dropout, batch order) without touching global RNGs."""
    if random_state is None:
        rng = np.random.default_rng()
        return tuple(int(s) for s in rng.integers(0, 2**31 - 1, size=2))
    rng = check_random_state(random_state)
    return tuple(int(s) for s in rng.randint(0, 2**31 - 1, size=2))


class seeded:
    """Run a block with torch's global RNG seeded, then restore the caller's state.

    Weight init and dropout draw from torch's global generator; forking it keeps
    ``fit`` reproducible without changing the RNG state the caller sees.
    """

    def __init__(self, seed, device):
        self.seed = seed
        dev = torch.device(device)
        self.cuda_index = None
        if dev.type == "cuda":
            self.cuda_index = dev.index if dev.index is not None else 0
        devices = [] if self.cuda_index is None else [self.cuda_index]
        self._fork = torch.random.fork_rng(devices=devices)

    def __enter__(self):
        self._fork.__enter__()
        torch.default_generator.manual_seed(self.seed)
        if self.cuda_index is not None:
            with torch.cuda.device(self.cuda_index):
                torch.cuda.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        return self._fork.__exit__(*exc)
