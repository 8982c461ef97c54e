"""The collector's view of the test process while a test times something."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """What is alive now is left out of the collector's walks until the block ends, as the
    apps do for their start-up objects in production (``kit.runtime.tune_gc``, off in the
    test stack).

    The test process holds four apps and every object the session has made so far; one full
    collection of all that took 0.25-0.4 s here, and landing inside a timed request it made
    a 0.6 s budget look like 1.2 s. That pause is the harness's, not the product's."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
