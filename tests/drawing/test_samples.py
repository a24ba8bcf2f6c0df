"""Sample tables: the test examples on which the models differ."""

import pandas as pd

from gru_keras.drawing.samples import clip, sample_translations


def test_sample_tables_show_only_disagreements_and_cut_with_an_ellipsis():
    rows = []
    for model, outputs in (("lstm", ["un", "deux", "trois"]), ("custom_gru", ["un", "do", "x"])):
        for number, hypothesis in enumerate(outputs):
            rows.append(
                {
                    "dataset": "d",
                    "model": model,
                    "seed": 0,
                    "source": f"s{number}",
                    "reference": ["un", "deux", "trois"][number],
                    "hypothesis": hypothesis,
                }
            )
    table = sample_translations(pd.DataFrame(rows), "d", count=1)
    # Sentence 1 is translated alike by both and left out; one disagreeing sentence shown.
    assert set(table["sentence"]) == {2}
    assert table.loc[table["text of"] == "custom_gru", "match"].item() == "differs"
    assert clip("short") == "short"
    long = "mot " * 50
    assert clip(long, 30).endswith("…") and len(clip(long, 30)) <= 30
    assert " " not in clip(long, 30)[-3:-1]  # cut between words
