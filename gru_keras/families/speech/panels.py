"""The speech family's view of a classification dataset on its family page (which speaker
the models mistake), and its decoded utterances for the appendix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras.drawing.colors import model_color
from gru_keras.drawing.samples import samples_of
from gru_keras.variants import model_order

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# The report's names for the stacked confusion_matrix.csv and decoded_samples.csv artifacts.
CONFUSIONS, DECODED = "confusions", "decoded"


def confusion_by_model(confusions: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """Each model's confusion matrix on `dataset`, summed over its seeds (rows true, columns
    predicted, in the class order the runs logged)."""
    of_dataset = confusions[confusions["dataset"] == dataset]
    matrices = {}
    for model in model_order(of_dataset["model"].unique()):
        of_model = of_dataset[of_dataset["model"] == model]
        counts = of_model.drop(columns=["dataset", "model", "seed"]).groupby("true", sort=False)
        matrices[model] = counts.sum()
    return matrices


def errors_by_class(matrices: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Misclassified test examples per true class (rows) and model (columns): each
    confusion matrix's row total minus its diagonal."""
    errors = {}
    for model, counts in matrices.items():
        values = counts.to_numpy(float)
        errors[model] = values.sum(axis=1) - np.diag(values)
    return pd.DataFrame(errors, index=next(iter(matrices.values())).index if matrices else [])


def class_labels(labels: list[str]) -> tuple[str, list[str]]:
    """("speaker", ["1", "2"]) for ["speaker 1", "speaker 2"]: the classes' shared noun and
    what tells them apart; ("class", labels) when they share none."""
    words = [label.rsplit(" ", 1) for label in labels]
    if labels and all(len(w) == 2 and w[0] == words[0][0] for w in words):
        return words[0][0], [w[1] for w in words]
    return "class", labels


def draw_errors_by_class(axis: Axes, errors: pd.DataFrame, seeds: int) -> Axes:
    """Each model's errors per true class, as bars side by side in the model's colour."""
    positions = np.arange(len(errors))
    width = 0.8 / max(1, len(errors.columns))
    for index, model in enumerate(errors.columns):
        axis.bar(
            positions + (index - (len(errors.columns) - 1) / 2) * width,
            errors[model],
            width,
            color=model_color(model),
            label=model,
        )
    noun, labels = class_labels([str(label) for label in errors.index])
    axis.set_xticks(positions, labels, fontsize=7)
    axis.set_xlabel(f"true {noun}", fontsize=8)
    axis.set_ylabel(f"test errors, {seeds} seed" + ("s" if seeds != 1 else ""), fontsize=8)
    axis.grid(alpha=0.3, axis="y")
    return axis


def speech_panel(inputs: Any, dataset: str, axis: Axes) -> str | None:
    confusions = inputs.tables.get(CONFUSIONS, pd.DataFrame())
    if not len(confusions) or dataset not in set(confusions["dataset"]):
        return None  # a dataset without classes (spoken digits): the default panel
    matrices = confusion_by_model(confusions, dataset)
    seeds = int(confusions.loc[confusions["dataset"] == dataset, "seed"].nunique())
    errors = errors_by_class(matrices)
    draw_errors_by_class(axis, errors, seeds)
    noun, _ = class_labels([str(label) for label in errors.index])
    axis.set_title(f"{dataset}: test errors by true {noun}", fontsize=9)
    return (
        "Right (classification): each model's misclassified test examples per true class, "
        "summed over seeds (the off-diagonal counts of its confusion matrix); errors gathered "
        "on one class mean the models confuse that class's examples with others."
    )


def speech_samples(inputs: Any, datasets: list[str]) -> pd.DataFrame:
    """The appendix rows: test utterances the models decode differently."""
    return samples_of(inputs.tables.get(DECODED, pd.DataFrame()), datasets, "voice")
