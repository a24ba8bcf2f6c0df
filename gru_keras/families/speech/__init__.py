"""Speech features: who is speaking (JapaneseVowels, from sktime) and which digits are
spoken by voices never heard in training (eSpeak NG, CTC)."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.speech.data import (
    DigitsFacts,
    JapaneseVowelsSettings,
    SpeakerFacts,
    SpokenDigitsSettings,
    load_japanese_vowels,
    load_spoken_digits,
)
from gru_keras.families.speech.panels import CONFUSIONS, DECODED, speech_panel, speech_samples
from gru_keras.families.speech.task import (
    CONFUSION_FILE,
    DECODED_FILE,
    CTCRecognition,
    SpeakerClassification,
)

FAMILY = Family(
    "speech",
    datasets=(
        DatasetSpec(
            "japanese-vowels",
            SpeakerClassification(),
            JapaneseVowelsSettings,
            load_japanese_vowels,
            "JapaneseVowels (UCI/UEA via sktime): 9 speakers, 12 LPC cepstra, 7-29 frames",
            facts=SpeakerFacts,
        ),
        DatasetSpec(
            "spoken-digits",
            CTCRecognition(),
            SpokenDigitsSettings,
            load_spoken_digits,
            "digit strings spoken by eSpeak NG voices, held-out voices for test; CTC",
            facts=DigitsFacts,
        ),
    ),
    tables={CONFUSION_FILE: CONFUSIONS, DECODED_FILE: DECODED},
    panel=speech_panel,
    samples=speech_samples,
    keras_objects=f"{__name__}.model",
)
