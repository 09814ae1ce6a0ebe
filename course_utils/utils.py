"""Small utilities: seeding, timing."""
from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager

import numpy as np

from ._validate import check_int

__all__ = ["seed_everything", "timer"]


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, numpy and (if imported) torch; return a numpy ``Generator``.

    Torch is only seeded when it has already been imported, so numpy-only notebooks
    never pay for importing it.
    """
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import sys
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` gives the elapsed seconds."""
    start = time.perf_counter()
    end = [None]

    def elapsed():
        return (end[0] if end[0] is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end[0] = time.perf_counter()
