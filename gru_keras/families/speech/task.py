"""Heads, losses and metrics of the speech family: speaker classification and CTC recognition.

Both read zero-padded feature sequences through a `Masking` layer, so the recurrent layer
skips the padding (its state is carried over unchanged), whatever the padded length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.drawing.confusion import draw_confusion
from gru_keras.families.base import Evaluation, SequenceData, Task
from gru_keras.families.edit_distance import edit_distance, error_rate
from gru_keras.families.speech.data import DIGITS
from gru_keras.families.speech.options import SpeechOptions
from gru_keras.variants import RecurrentVariant, stacked_core_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

if TYPE_CHECKING:
    import keras

SAMPLES_LOGGED = 12
# Artifacts every run logs; the report's speech pages read them back.
CONFUSION_FILE, CONFUSION_FIGURE = "confusion_matrix.csv", "confusion_matrix.png"
DECODED_FILE = "decoded_samples.csv"


class SpeakerClassification(Task):
    """One label per sequence from the last state: who is speaking (JapaneseVowels)."""

    name = "speaker-classification"
    headline_metric = "accuracy"
    higher_is_better = True
    supports_diagnostics = False  # masked input
    # JapaneseVowels epochs take 0.2 s: XLA's 5 s of compilation is never repaid.
    xla_variants = frozenset()

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        import keras

        from gru_keras.families.speech.model import masked_recurrent_model

        classes = len(data.facts.classes)
        head = keras.layers.Dense(classes, activation="softmax", name="speaker_head")
        return masked_recurrent_model(variant, units, data, head)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        import keras

        return {
            "loss": "sparse_categorical_crossentropy",
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def evaluate_predictions(self, probabilities: np.ndarray, data: SequenceData) -> Evaluation:
        from sklearn.metrics import confusion_matrix, f1_score  # a second's import, here only

        classes = list(data.facts.classes)
        predicted = probabilities.argmax(axis=-1)
        expected = np.asarray(data.y_test).astype(int)
        counts = confusion_matrix(expected, predicted, labels=range(len(classes)))
        table = pd.DataFrame(counts, columns=classes)
        table.insert(0, "true", classes)
        return Evaluation(
            {
                "accuracy": float(np.mean(predicted == expected)),
                "macro_f1": float(f1_score(expected, predicted, average="macro")),
            },
            tables={CONFUSION_FILE: table},
            figures={CONFUSION_FIGURE: confusion_figure(counts, classes)},
        )


def confusion_figure(counts: np.ndarray, classes: list[str]) -> Figure:
    """A confusion-matrix heat map with the counts written in the cells. Built without
    pyplot, as the diagnostics' figures are: nothing to close, no GUI backend in a worker."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 5.2), layout="tight")
    axes = figure.add_subplot()
    image = draw_confusion(axes, counts, classes, noun="speaker")
    figure.colorbar(image, ax=axes, label="test utterances")
    return figure


def greedy_ctc(logits: np.ndarray, frames: np.ndarray) -> list[list[int]]:
    """Best path decoding with `keras.ops.ctc_decode`: digit sequences (labels minus 1)."""
    from keras import ops

    decoded, _ = ops.ctc_decode(
        ops.convert_to_tensor(logits),
        ops.convert_to_tensor(frames, dtype="int32"),
        strategy="greedy",
        mask_index=0,
    )
    paths = ops.convert_to_numpy(decoded)[0]
    return [[int(label) - 1 for label in path if label > 0] for path in paths]


def digit_words(digits: list[int]) -> str:
    return " ".join(DIGITS[d] for d in digits)


class CTCRecognition(Task):
    """Per-frame label logits trained with CTC, decoded greedily (spoken digit strings)."""

    name = "ctc"
    # Spoken digits, 10 epochs, 2 jobs x 1 thread: the GRUs' epochs take 2.4-3.1 s instead
    # of 4.2-4.6 s with XLA, which repays its 9-10 s of compilation; LSTM and SimpleRNN do
    # not gain enough (SimpleRNN's epochs are slower).
    xla_variants = frozenset({schema.CUSTOM_GRU, schema.KERAS_GRU})
    headline_metric = "digit_error_rate"
    higher_is_better = False
    supports_diagnostics = False  # masked input

    model_options = SpeechOptions

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: SpeechOptions
    ) -> keras.Model:
        import keras

        from gru_keras.families.speech.model import masked_recurrent_model

        head = keras.layers.Dense(int(data.facts.classes), name="label_logits")
        return masked_recurrent_model(
            variant, units, data, head, return_sequences=True,
            bidirectional=options.bidirectional,
        )  # fmt: skip

    def core_parameters(
        self, variant: RecurrentVariant, data: SequenceData, options: SpeechOptions
    ):
        single = stacked_core_params(variant, data.input_dim, self.recurrent_layers)
        directions = 2 if options.bidirectional else 1
        return lambda units: directions * single(units)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        from gru_keras.families.speech.model import ctc_loss_with_lengths

        return {"loss": ctc_loss_with_lengths, "metrics": []}

    def evaluate_predictions(self, logits: np.ndarray, data: SequenceData) -> Evaluation:
        frames = np.asarray(data.y_test)[:, 0]
        hypotheses = greedy_ctc(logits, frames)
        references = [list(sequence) for sequence in data.facts.test_digits]
        exact = [h == r for h, r in zip(hypotheses, references, strict=True)]
        voices = list(data.facts.test_voices)
        samples = pd.DataFrame(
            {
                "voice": voices[:SAMPLES_LOGGED],
                "reference": [digit_words(r) for r in references[:SAMPLES_LOGGED]],
                "hypothesis": [digit_words(h) for h in hypotheses[:SAMPLES_LOGGED]],
                "errors": [
                    edit_distance(h, r)
                    for h, r in zip(
                        hypotheses[:SAMPLES_LOGGED], references[:SAMPLES_LOGGED], strict=True
                    )
                ],
            }
        )
        return Evaluation(
            {
                "digit_error_rate": error_rate(hypotheses, references),
                "string_accuracy": float(np.mean(exact)),
            },
            tables={DECODED_FILE: samples},
        )
