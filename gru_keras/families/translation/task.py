"""Character-level translation as a task: teacher-forced training on length-sorted batches,
test sentences decoded in batches (greedy or with a beam) and scored with sacrebleu (chrF,
BLEU), exact match and character error rate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sacrebleu

from gru_keras.families.base import (
    Evaluation,
    SequenceData,
    Task,
    batch_sequence,
    batch_stream,
)
from gru_keras.families.edit_distance import error_rate
from gru_keras.families.translation.data import PAD
from gru_keras.families.translation.decoding import DECODE_BATCH, decode
from gru_keras.families.translation.options import (
    LAYER_NAMES,
    TranslationOptions,
    core_parameters,
)
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

SAMPLE_COUNT = 12  # the same first test sentences in every run, for the report
SAMPLES_FILE = "samples.csv"
LENGTH_MARGIN = 10  # decoding may run this many characters past the longest test target


BUCKETS = 4  # widths per side a batch is padded to: at most 4 x 4 shapes to compile


def bucket_width(width: int, longest: int, buckets: int | None = BUCKETS) -> int:
    """`width` rounded up to the next of `buckets` evenly spaced widths up to `longest`
    (`width` itself when `buckets` is None)."""
    if buckets is None:
        return width
    step = max(1, math.ceil(longest / buckets))
    return min(longest, step * math.ceil(width / step))


def length_batches(
    inputs: dict[str, np.ndarray],
    targets: np.ndarray,
    batch_size: int,
    buckets: int | None = None,
) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Batches of pairs of similar length, each cut to its longest source and target, so
    short sentences do not pay for the padding of long ones; with `buckets`, those widths
    are rounded up to one of `buckets` per side, so that XLA compiles one step per bucket
    and not one per batch."""
    source_lengths = (inputs["source"] != PAD).sum(axis=1)
    target_lengths = (targets != PAD).sum(axis=1)
    order = np.lexsort((source_lengths, target_lengths))
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        source_width = bucket_width(
            max(1, int(source_lengths[rows].max())), inputs["source"].shape[1], buckets
        )
        target_width = bucket_width(int(target_lengths[rows].max()), targets.shape[1], buckets)
        batches.append(
            (
                {
                    "source": inputs["source"][rows, :source_width],
                    "target_in": inputs["target_in"][rows, :target_width],
                },
                targets[rows, :target_width],
            )
        )
    return batches


def batch_signature() -> tuple[dict[str, tf.TensorSpec], tf.TensorSpec]:
    """One batch: source and shifted target ids in, target ids out."""
    import tensorflow as tf

    ids = tf.TensorSpec((None, None), tf.int32)
    return {"source": ids, "target_in": ids}, ids


def token_cross_entropy(model: keras.Model, inputs: dict, targets: np.ndarray) -> float:
    """Mean negative log-probability of each reference character (end token included) under
    teacher forcing, in nats."""
    total, count = 0.0, 0
    for batch_inputs, batch_targets in length_batches(inputs, targets, DECODE_BATCH):
        probabilities = np.asarray(model.predict_on_batch(batch_inputs))
        picked = np.take_along_axis(probabilities, batch_targets[..., None], axis=-1)[..., 0]
        real = batch_targets != PAD
        total += float(-np.log(np.clip(picked[real], 1e-12, 1.0)).sum())
        count += int(real.sum())
    return total / max(count, 1)


def translation_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Exact match, character error rate, and sacrebleu's corpus chrF and BLEU (0-100)."""
    return {
        "exact_match": float(
            np.mean([h == r for h, r in zip(hypotheses, references, strict=True)])
        ),
        "cer": error_rate(hypotheses, references),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
    }


class Seq2Seq(Task):
    """Encoder-decoder translation with teacher forcing; the variant is both encoder and
    decoder, matched on their combined parameters."""

    name = "seq2seq"
    # Even with bucketed batches, every (source, target) width pair is a compilation of the
    # train and the test step: 40-50 s per run, and epochs were no faster.
    xla_variants = frozenset()
    headline_metric = "exact_match"
    higher_is_better = True
    recurrent_layers = 2
    supports_diagnostics = False

    model_options = TranslationOptions

    def core_parameters(
        self, variant: RecurrentVariant, data: SequenceData, options: TranslationOptions
    ):
        return core_parameters(variant, options)

    def recurrent_parameter_count(self, model: keras.Model) -> int:
        return sum(model.get_layer(name).count_params() for name in LAYER_NAMES)

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        from gru_keras.families.translation.model import seq2seq_model

        return seq2seq_model(variant, units, data, options)

    def compile_kwargs(self, options: TranslationOptions | None = None) -> dict[str, Any]:
        # Padding after the end token is not a prediction.
        import keras

        if options is not None and options.label_smoothing > 0:
            from gru_keras.families.translation.model import SmoothedCrossEntropy

            return {"loss": SmoothedCrossEntropy(options.label_smoothing, ignore_class=PAD)}
        return {"loss": keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)}

    def fit_inputs(
        self, data: SequenceData, batch_size: int, seed: int, xla: bool = False
    ) -> dict[str, Any]:
        # Under XLA every batch shape is a compilation: pad to a few bucket widths. Without
        # it that padding is only extra work.
        buckets = BUCKETS if xla else None
        train = length_batches(data.x_train, data.y_train, batch_size, buckets)
        validation = length_batches(data.x_val, data.y_val, batch_size, buckets)
        return {
            "x": batch_stream(train, seed, batch_signature()),
            "validation_data": batch_sequence(validation, batch_signature()),
            "steps_per_epoch": len(train),
            "validation_steps": len(validation),
            "shuffle": False,  # the batch stream reshuffles itself, seeded, every epoch
        }

    def decode(
        self, model: keras.Model, data: SequenceData, options: TranslationOptions
    ) -> list[str]:
        """Translate the test split (batched, greedy or with the dataset's beam width)."""
        max_length = int(data.y_test.shape[1]) + LENGTH_MARGIN
        source = data.x_test["source"]
        ids = decode(model, source, max_length, options.beam_width)
        vocabulary = data.facts.target_vocabulary
        return [vocabulary.decode(row) for row in ids]

    def evaluate(
        self,
        model: keras.Model,
        data: SequenceData,
        batch_size: int,
        options: TranslationOptions,
    ) -> Evaluation:
        hypotheses = self.decode(model, data, options)
        evaluation = self.evaluate_predictions(np.array(hypotheses, dtype=object), data)
        # The training loss (per reference character), as `train/loss` and `val/loss`.
        evaluation.metrics["loss"] = token_cross_entropy(model, data.x_test, data.y_test)
        return evaluation

    def evaluate_predictions(self, hypotheses: np.ndarray, data: SequenceData) -> Evaluation:
        pairs = data.facts.test_pairs
        references = [target for _, target in pairs]
        hypotheses = [str(text) for text in hypotheses]
        count = min(SAMPLE_COUNT, len(pairs))
        samples = pd.DataFrame(
            {
                "source": [source for source, _ in pairs[:count]],
                "reference": references[:count],
                "hypothesis": hypotheses[:count],
            }
        )
        scores = translation_scores(hypotheses, references)
        groups = data.facts.test_groups
        if groups:
            # Exact match per kind of sentence (cardinal, date...): where a model fails.
            for group in sorted(set(groups)):
                chosen = [index for index, name in enumerate(groups) if name == group]
                scores[f"exact_match_{group}"] = float(
                    np.mean([hypotheses[index] == references[index] for index in chosen])
                )
        return Evaluation(scores, tables={SAMPLES_FILE: samples})
