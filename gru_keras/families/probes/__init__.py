"""Long-term-dependency probes: the adding problem and copy memory, generated."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.probes.data import (
    AddingFacts,
    AddingSettings,
    CopyMemoryFacts,
    CopyMemorySettings,
    load_adding,
    load_copy_memory,
)
from gru_keras.families.probes.task import LastStepRegression, RecallLabeling

FAMILY = Family(
    "probes",
    datasets=(
        DatasetSpec(
            "adding",
            task=LastStepRegression(),
            settings=AddingSettings,
            load=load_adding,
            description="adding problem: sum of two marked values in a long sequence",
            facts=AddingFacts,
        ),
        DatasetSpec(
            "copy-memory",
            task=RecallLabeling(),
            settings=CopyMemorySettings,
            load=load_copy_memory,
            description="copy memory: reproduce K symbols after a long blank delay",
            facts=CopyMemoryFacts,
        ),
    ),
)
