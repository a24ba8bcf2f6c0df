"""Where a run's time goes: the stopwatch, and the first epoch's tracing overhead."""

import time

import pytest

from gru_keras import schema
from gru_keras.experiment.timing import Stopwatch
from gru_keras.experiment.train import first_epoch_overhead


def test_parts_add_up_and_moves_never_go_negative():
    clock = Stopwatch()
    with clock.part("fit"):
        time.sleep(0.05)
    with clock.part("fit"):
        time.sleep(0.05)
    assert 0.1 <= clock.seconds["fit"] < 0.5
    clock.move(0.04, "fit", "logging")
    assert clock.seconds["logging"] == pytest.approx(0.04)
    total = clock.seconds["fit"] + clock.seconds["logging"]
    clock.move(10.0, "fit", "build")  # at most what fit holds
    assert clock.seconds["fit"] == 0.0
    assert clock.seconds["build"] + clock.seconds["logging"] == pytest.approx(total)
    assert set(clock.metrics()) == {schema.time_metric(part) for part in schema.TIME_PARTS}
    assert clock.metrics()["time/logging_seconds"] == pytest.approx(0.04)


def test_a_part_is_timed_even_when_it_raises():
    clock = Stopwatch()
    with pytest.raises(RuntimeError), clock.part("evaluate"):
        time.sleep(0.02)
        raise RuntimeError
    assert clock.seconds["evaluate"] >= 0.02


def test_first_epoch_overhead_is_its_excess_over_the_median_of_the_rest():
    assert first_epoch_overhead([5.0, 1.0, 1.2, 0.8]) == pytest.approx(4.0)
    assert first_epoch_overhead([1.0, 2.0, 2.0]) == 0.0  # never negative
    assert first_epoch_overhead([3.0]) == 0.0  # nothing to compare with
    assert first_epoch_overhead([]) == 0.0
