"""Translation: English to French, German or Spanish numbers and dates (generated), and any
Tatoeba / manythings.org file, character by character with an encoder-decoder."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.translation.data import (
    LANGUAGES,
    NumbersDatesSettings,
    TatoebaSettings,
    TranslationFacts,
    load_tatoeba,
    numbers_dates_loader,
)
from gru_keras.families.translation.panels import SAMPLES, translation_panel, translation_samples
from gru_keras.families.translation.task import SAMPLES_FILE, Seq2Seq

TASK = Seq2Seq()
FAMILY = Family(
    "translation",
    datasets=(
        *(
            DatasetSpec(
                f"numbers-dates-{language}",
                TASK,
                NumbersDatesSettings,
                numbers_dates_loader(language),
                f"English -> {language} numbers, years, ordinals, dates and amounts "
                "(num2words, babel CLDR), generated",
                facts=TranslationFacts,
            )
            for language in LANGUAGES
        ),
        DatasetSpec(
            "tatoeba",
            TASK,
            TatoebaSettings,
            load_tatoeba,
            "any Tatoeba / manythings.org tab-separated sentence-pair file",
            facts=TranslationFacts,
        ),
    ),
    tables={SAMPLES_FILE: SAMPLES},
    panel=translation_panel,
    samples=translation_samples,
    keras_objects=f"{__name__}.model",
)
