"""Sample tables: the same first test examples with every model's output beside the reference
(translations, decoded utterances). Used by the family pages; imports nothing that names a
family."""

from __future__ import annotations

import pandas as pd

from gru_keras.variants import model_order

SAMPLES_SHOWN = 6

# Fits above the caption at 8 pt with the sample pages' column widths.
SAMPLE_ROWS_PER_PAGE = 24

MATCH_COLORS = {True: "#1A7F37", False: "#B42318"}


def sample_translations(
    samples: pd.DataFrame, dataset: str, count: int, source_column: str = "source"
) -> pd.DataFrame:
    """The first `count` samples of a dataset, each as its source (or voice) and reference
    followed by every model's output (first seed) and whether it matches exactly."""
    of_dataset = samples[samples["dataset"] == dataset]
    first_seeds = of_dataset["seed"] == of_dataset.groupby("model")["seed"].transform("min")
    of_dataset = of_dataset[first_seeds]
    models = model_order(of_dataset["model"].unique())
    by_model = {
        model: of_dataset[of_dataset["model"] == model].reset_index(drop=True) for model in models
    }
    rows = []
    # Every run logs the same first test examples in the same order.
    for number, sample in by_model[models[0]].head(count).iterrows() if models else []:
        rows.append(_sample_row(number + 1, source_column, sample[source_column], ""))
        rows.append(_sample_row(number + 1, "reference", sample["reference"], ""))
        for model in models:
            if number < len(by_model[model]):
                hypothesis = by_model[model].loc[number, "hypothesis"]
                hypothesis = "" if pd.isna(hypothesis) else str(hypothesis)
                matched = hypothesis == str(sample["reference"])
                rows.append(
                    _sample_row(
                        number + 1, model, hypothesis, "exact" if matched else "differs", matched
                    )
                )
    return pd.DataFrame(rows, columns=["sentence", "text of", "text", "match", "color"])


def _sample_row(number: int, who: str, text: str, match: str, matched: bool | None = None):
    color = MATCH_COLORS[matched] if matched is not None else ""
    return {"sentence": number, "text of": who, "text": text, "match": match, "color": color}
