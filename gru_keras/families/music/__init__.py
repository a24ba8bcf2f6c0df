"""Polyphonic music: Bach's chorales as piano rolls, next-step prediction scored by the
negative log-likelihood per step, as in Chung et al. (2014)."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.music.data import ChoraleFacts, ChoraleSettings, load_chorales
from gru_keras.families.music.panels import CORPUS, chung_panel
from gru_keras.families.music.task import CORPUS_FILE, NextStepPianoRoll

FAMILY = Family(
    "music",
    datasets=(
        DatasetSpec(
            "bach-chorales",
            task=NextStepPianoRoll(),
            settings=ChoraleSettings,
            load=load_chorales,
            description="J. S. Bach's chorales (music21 corpus) as 88-key piano rolls",
            facts=ChoraleFacts,
        ),
    ),
    tables={CORPUS_FILE: CORPUS},
    panel=chung_panel,
    keras_objects=f"{__name__}.model",
)
