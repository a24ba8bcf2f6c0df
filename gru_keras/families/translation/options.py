"""The translation model's options and its parameter count, apart from the model so that a
suite can be read without importing Keras."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gru_keras.validation import HASHED, added_later, between, one_of
from gru_keras.variants import RecurrentVariant

EMBEDDING_DIM = 32
LAYER_NAMES = ("encoder", "decoder")
ATTENTION = ("none", "luong")


@dataclass(frozen=True)
class TranslationOptions:
    """`[datasets.X.model]` of a translation dataset.

    Attributes:
        attention: "none" (the default: the recurrent state is the only path from source to
            target) or "luong" (Luong et al. 2015 global attention over the encoder's outputs).
        decoder_context: Also feed the encoder's final state to every decoder step (Cho et
            al. 2014), besides starting the decoder from it.
        beam_width: Hypotheses kept per sentence when decoding the test split (1 = greedy).
        label_smoothing: Share of each target character's probability spread evenly over the
            vocabulary in the training loss (Szegedy et al. 2016; 0 = plain cross-entropy).
            It gives the loss a floor: on this noiseless task the plain cross-entropy keeps
            falling as the model grows more confident, long after every sentence is right,
            so its validation loss never plateaus. The test loss stays plain cross-entropy.
    """

    attention: str = field(default="none", metadata={**one_of(ATTENTION), **HASHED})
    decoder_context: bool = field(default=False, metadata=HASHED)
    beam_width: int = field(default=1, metadata={**between(1, 64), **HASHED})
    label_smoothing: float = field(default=0.0, metadata={**between(0.0, 0.5), **added_later(0.0)})


def core_parameters(variant: RecurrentVariant, options: TranslationOptions) -> Callable[[int], int]:
    """Encoder plus decoder parameters as a function of units."""

    def count(units: int) -> int:
        decoder_inputs = EMBEDDING_DIM + (units if options.decoder_context else 0)
        return variant.count_params(EMBEDDING_DIM, units) + variant.count_params(
            decoder_inputs, units
        )

    return count
