"""Sample tables: the same first test examples with every model's output beside the reference
(translations, decoded utterances), for the families' rows of the report's appendix;
imports nothing that names a family."""

from __future__ import annotations

import pandas as pd

from gru_keras.variants import model_order

SAMPLES_SHOWN = 2  # disagreeing samples per dataset, in the report's one appendix page

MATCH_COLORS = {True: "#1A7F37", False: "#B42318"}


TEXT_WIDTH = 110  # characters of a sample's text at 8 pt in the sample tables' text column


def clip(text: str, width: int = TEXT_WIDTH) -> str:
    """`text` cut to `width` characters at a word boundary, with an ellipsis where cut."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if " " in cut[width // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def sample_translations(
    samples: pd.DataFrame, dataset: str, count: int, source_column: str = "source"
) -> pd.DataFrame:
    """Up to `count` samples of a dataset on which the models disagree (some exact and some
    not, or different outputs), each as its source (or voice) and reference followed by
    every model's output (first seed) and whether it matches exactly. Samples every model
    gets right, or gets wrong alike, say nothing about the difference between them; an
    empty table when there is none."""
    of_dataset = samples[samples["dataset"] == dataset]
    first_seeds = of_dataset["seed"] == of_dataset.groupby("model")["seed"].transform("min")
    of_dataset = of_dataset[first_seeds]
    models = model_order(of_dataset["model"].unique())
    by_model = {
        model: of_dataset[of_dataset["model"] == model].reset_index(drop=True) for model in models
    }
    rows = []
    shown = 0
    # Every run logs the same first test examples in the same order.
    for number, sample in by_model[models[0]].iterrows() if models else []:
        if shown == count:
            break
        outputs = {
            model: _text(by_model[model].loc[number, "hypothesis"])
            for model in models
            if number < len(by_model[model])
        }
        if len(set(outputs.values())) < 2:
            continue
        shown += 1
        rows.append(_sample_row(number + 1, source_column, clip(str(sample[source_column])), ""))
        rows.append(_sample_row(number + 1, "reference", clip(str(sample["reference"])), ""))
        for model, hypothesis in outputs.items():
            matched = hypothesis == str(sample["reference"])
            rows.append(
                _sample_row(
                    number + 1, model, clip(hypothesis), "exact" if matched else "differs", matched
                )
            )
    return pd.DataFrame(rows, columns=["sentence", "text of", "text", "match", "color"])


def samples_of(
    samples: pd.DataFrame, datasets: list[str], source_column: str = "source"
) -> pd.DataFrame:
    """`sample_translations` of every dataset that logged samples, with a `dataset` column
    first: a family's rows of the report's appendix."""
    tables = [
        sample_translations(samples, dataset, SAMPLES_SHOWN, source_column).assign(dataset=dataset)
        for dataset in datasets
        if len(samples) and dataset in set(samples["dataset"])
    ]
    tables = [table for table in tables if len(table)]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["dataset", *[c for c in table.columns if c != "dataset"]]]


def _text(value: object) -> str:
    return "" if pd.isna(value) else str(value)


def _sample_row(number: int, who: str, text: str, match: str, matched: bool | None = None):
    color = MATCH_COLORS[matched] if matched is not None else ""
    return {"sentence": number, "text of": who, "text": text, "match": match, "color": color}
