"""Signals as remembered interrupts, and the steps that must not stop halfway."""

import os
import signal

import pytest

from gru_keras.experiment.interrupts import (
    INTERRUPTED,
    interrupts_deferred,
    signals_as_interrupt,
)


@pytest.fixture(autouse=True)
def forget_interrupts():
    # The flag outlives a test; a run that fails while it is set counts as interrupted.
    yield
    INTERRUPTED.clear()


def test_sigterm_raises_where_the_main_thread_is():
    reached = []
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            reached.append(1)
    assert INTERRUPTED.is_set() and len(reached) < 1000


def test_an_interrupt_inside_a_deferring_block_arrives_when_it_ends():
    reached = []
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                reached.append(1)
        reached.append("after")  # never: the interrupt is raised as the block ends
    assert reached == [1] * 1000 and INTERRUPTED.is_set()


def test_a_block_without_an_interrupt_ends_normally_even_after_an_earlier_one():
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
    assert INTERRUPTED.is_set()  # remembered from before: not this block's interrupt
    with interrupts_deferred():
        pass
