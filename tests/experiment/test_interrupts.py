"""Signals as remembered interrupts, and the steps that must not stop halfway."""

import os
import signal
import threading

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


def test_nested_deferring_blocks_raise_once_when_the_outermost_ends():
    reached = []
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        with interrupts_deferred():
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):
                    pass
            reached.append("inner ended")  # still held: the outer block is open
        reached.append("after")
    assert reached == ["inner ended"]


def test_a_second_interrupt_while_one_waits_is_raised_at_once():
    # A store write that hangs (a server gone quiet) must not hold the process: the user's
    # second Ctrl-C goes through.
    reached = []
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt(), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            reached.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            reached.append(2)
    assert reached.count(1) == 1000 and reached.count(2) < 1000


def test_a_deferring_block_in_another_thread_does_not_hold_the_main_threads_interrupt():
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with interrupts_deferred():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    reached = []
    try:
        entered.wait(10)
        with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                reached.append(1)
    finally:
        release.set()
        thread.join()
    assert len(reached) < 1000
