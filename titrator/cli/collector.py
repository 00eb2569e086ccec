"""The cyclic garbage collector paused while the nurse's app starts (issue 17).

Before the setup screen's first frame, CPython's cyclic collector ran 228 times (208 young,
19 middle, 1 full collection) and took about 50 ms of a 550 ms start: each collection walks
objects that the imports (Textual, pydantic, the models) and the checked library have just
made and that live as long as the app. Reference counting frees everything else as before.

`paused_for_start_up` pauses the collector from the command word to the moment the app is
about to run; `app_opening` then freezes what start-up made (`gc.freeze`: moved out of the
collector's generations, never walked again, as for a long-lived server) and starts the
collector again, so everything made after it (each screen, each session) is collected as
usual. Any other way out (an error before the app opens, `titrator resume --list`) starts it
again too. Nothing here is a check: every check still runs, in the same order.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused = False
"""True between `paused_for_start_up` and `app_opening` (or the end of the command)."""


@contextmanager
def paused_for_start_up() -> Iterator[None]:
    """Pause the cyclic collector for the body; it runs again afterwards whatever happened."""
    global _paused
    if not gc.isenabled():  # paused by someone else: theirs to start again
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        if _paused:
            _paused = False
            gc.enable()


def app_opening() -> None:
    """The app is about to run: freeze what start-up made and start the collector again."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
