"""Long-term-dependency probes: the adding problem, copy memory and counting, generated."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.probes.data import (
    AddingFacts,
    AddingSettings,
    CopyMemoryFacts,
    CopyMemorySettings,
    CountingFacts,
    CountingSettings,
    load_adding,
    load_copy_memory,
    load_counting,
)
from gru_keras.families.probes.task import (
    BalanceClassification,
    LastStepRegression,
    RecallLabeling,
)

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
        DatasetSpec(
            "counting",
            task=BalanceClassification(),
            settings=CountingSettings,
            load=load_counting,
            description="counting: is a^n b^m balanced? tested at 2-4x the training lengths",
            facts=CountingFacts,
        ),
    ),
)
