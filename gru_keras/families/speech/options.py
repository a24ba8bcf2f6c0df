"""The speech family's model options, apart from the model so that a suite can be read
without importing Keras."""

from __future__ import annotations

from dataclasses import dataclass, field

from gru_keras.validation import HASHED


@dataclass(frozen=True)
class SpeechOptions:
    """`[datasets.X.model]` of a CTC speech dataset.

    Attributes:
        bidirectional: Read each utterance both ways; the parameter budget covers both.
    """

    bidirectional: bool = field(default=False, metadata=HASHED)
