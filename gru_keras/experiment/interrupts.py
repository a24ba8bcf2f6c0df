"""Ctrl-C and SIGTERM as `KeyboardInterrupt`, remembered.

A signal handler's exception is raised wherever the main thread happens to be, and C code it
passes through can turn it into another error: TensorFlow's tf.data, interrupted inside a
Python callback, reports a `ValueError` about nested structures. So the handlers here also set
`INTERRUPTED`, and a run that fails while it is set counts as interrupted (KILLED), not FAILED.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

INTERRUPTED = threading.Event()


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: remember the interrupt, then raise it."""
    INTERRUPTED.set()
    raise KeyboardInterrupt


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM, and Ctrl-C unless this process ignores it, raise a remembered
    `KeyboardInterrupt` (a run is marked KILLED, never left RUNNING)."""
    INTERRUPTED.clear()
    handled = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        handled.append(signal.SIGINT)
    previous = {number: signal.signal(number, raise_interrupt) for number in handled}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
