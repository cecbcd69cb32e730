"""How the platform's long-running processes tune Python's garbage collector."""

from __future__ import annotations

import gc

# Young collections after this many new container objects, not Python's 700: a request, an event or an imported
# row makes many short-lived objects and almost no cycles, and each young pass costs CPU on the hot path.
YOUNG_THRESHOLD = 100_000


def settle_heap() -> None:
    """Call once start-up is done. What it made (modules, models, schemas, the app) lives as long as the process:
    frozen, it is kept out of the collector's full passes, which would otherwise walk all of it and pause the event
    loop ~80 ms each time; and young passes run rarely."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 50, 100)
