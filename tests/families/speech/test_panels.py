"""The speech family's panel: errors per true class from the logged confusion matrices."""

import numpy as np
import pandas as pd

from gru_keras.families.speech.panels import confusion_by_model, errors_by_class


def test_errors_by_class_are_off_diagonal_row_sums_over_seeds():
    rng = np.random.default_rng(1)
    classes = ["speaker 1", "speaker 2", "speaker 3"]
    frames, truth = [], {}
    for model in ("simple_rnn", "custom_gru"):
        total = np.zeros((3, 3))
        for seed in range(2):
            counts = rng.integers(0, 9, size=(3, 3))
            total += counts
            frame = pd.DataFrame(counts, columns=classes)
            frame.insert(0, "true", classes)
            frames.append(frame.assign(dataset="japanese-vowels", model=model, seed=seed))
        # Independent count: every (true, predicted) cell with true != predicted.
        truth[model] = [
            sum(total[row, column] for column in range(3) if column != row) for row in range(3)
        ]
    confusions = pd.concat(frames, ignore_index=True)
    errors = errors_by_class(confusion_by_model(confusions, "japanese-vowels"))
    assert list(errors.index) == classes
    assert list(errors.columns) == ["simple_rnn", "custom_gru"]
    for model, expected in truth.items():
        assert errors[model].tolist() == expected
