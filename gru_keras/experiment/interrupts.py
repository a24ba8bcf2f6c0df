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
_DEFERRING, _DEFERRED = threading.Event(), threading.Event()


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: remember the interrupt, then raise it (at the end of a deferring
    block, if one is running; at once if a second one comes while it waits, so a store
    write that hangs cannot hold the process)."""
    INTERRUPTED.set()
    if _DEFERRING.is_set() and not _DEFERRED.is_set():
        _DEFERRED.set()
    else:
        raise KeyboardInterrupt


_depth = 0  # deferring blocks open in the main thread


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Inside: an interrupt is remembered, and raised only when the outermost block ends, so
    a step that must not stop halfway completes. Store writes are such steps:

    - starting a run: MLflow writes the RUNNING row before the run becomes active, and an
      interrupt between the two left a run that nothing would end (seen when a driver was
      killed just as its workers started runs);
    - a write to a sqlite store: an interrupt inside SQLAlchemy's session leaves its
      connection holding the database's write lock, so the next write, ending the run
      KILLED, waits out the 20 s busy timeout and fails with "database is locked"
      (reproduced by interrupting per-epoch `log_metrics`; it left a worker's run RUNNING).

    Signals interrupt the main thread only; in any other thread this does nothing.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0:
        _DEFERRED.clear()
        _DEFERRING.set()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _DEFERRING.clear()
    if _depth == 0 and _DEFERRED.is_set():
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
