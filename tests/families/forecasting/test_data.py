import numpy as np
import pandas as pd
import pytest
from fuzz import budget, csv_cells, fuzz, outcome
from fuzz import hostile as fuzz_files
from hypothesis import given
from hypothesis import strategies as st

from gru_keras.families import DataError, get_dataset
from gru_keras.families.forecasting.data import (
    CsvSettings,
    Series,
    csv_series,
    make_windows,
    split_bounds,
    window_origins,
    windowed_data,
)


def test_split_bounds_are_chronological_fractions():
    assert split_bounds(100, 0.15, 0.15) == (70, 85)


def test_train_windows_stay_inside_train_and_others_target_only_their_split():
    length, input_length, horizon = 200, 12, 5
    train_end, validation_end = split_bounds(length, 0.2, 0.2)
    train = window_origins(0, train_end, input_length, horizon, 1)
    validation = window_origins(train_end, validation_end, input_length, horizon, 1)
    test = window_origins(validation_end, length, input_length, horizon, 1)
    # Every index a training window touches (inputs and targets) is below train_end.
    assert train.min() - input_length >= 0 and train.max() + horizon <= train_end
    # Validation and test targets lie wholly inside their own split.
    assert validation.min() >= train_end and validation.max() + horizon <= validation_end
    assert test.min() >= validation_end and test.max() + horizon <= length
    # And as many windows as fit: nothing is dropped at the edges.
    assert len(train) == train_end - horizon - input_length + 1
    assert len(test) == length - validation_end - horizon + 1
    strided = window_origins(0, train_end, input_length, horizon, 3)
    assert (
        set(np.diff(strided)) == {3}
        and len(strided) == (train_end - horizon - input_length) // 3 + 1
    )


def test_make_windows_shapes_and_values():
    series = np.arange(30, dtype=float)
    inputs, changes = make_windows(
        series[:, None], series, np.array([10, 20]), input_length=4, horizon=3
    )
    assert inputs.shape == (2, 4, 1) and changes.shape == (2, 3)
    np.testing.assert_array_equal(inputs[0, :, 0], [6 - 9, 7 - 9, 8 - 9, 9 - 9])
    np.testing.assert_array_equal(changes[1], [20 - 19, 21 - 19, 22 - 19])


@pytest.mark.parametrize("reference", ["last", "season"])
def test_scaler_is_fitted_on_train_windows_only(reference):
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, 1000)
    series = Series(values[:, None], ("y",), "y", np.arange(1000).astype(str))
    data = windowed_data("toy", series, 12, 24, 6, 1, 0.15, 0.15, reference)
    # A test segment that explodes must not change the scale (it would if the scaler saw it).
    exploded = values.copy()
    exploded[data.facts.validation_end :] *= 1000
    leaked = windowed_data(
        "toy",
        Series(exploded[:, None], ("y",), "y", series.time),
        12,
        24,
        6,
        1,
        0.15,
        0.15,
        reference,
    )
    assert leaked.facts.target_scale == data.facts.target_scale
    np.testing.assert_array_equal(leaked.x_train, data.x_train)
    # And it is the spread of the training targets: scaled, they have unit variance.
    assert data.y_train.std() == pytest.approx(1.0, rel=1e-4)
    assert data.x_train.std() == pytest.approx(1.0, rel=1e-4)


def test_seasonal_reference_differences_inputs_and_targets():
    season = 4
    values = np.tile([1.0, 5.0, 3.0, 2.0], 50) + np.arange(200) * 0.01
    inputs, targets = make_windows(values[:, None], values, np.array([20]), 8, 3, season, "season")
    np.testing.assert_allclose(inputs[0, :, 0], 0.04)  # x[t] - x[t-4] is only the trend
    np.testing.assert_allclose(targets[0], 0.04)
    origins = window_origins(0, 100, 8, 3, 1, history=season)
    assert origins.min() - 8 - season >= 0


@pytest.mark.parametrize(
    "name, length",
    [("sunspots-monthly", 2820), ("electricity-halfhourly", 4032), ("seattle-temps-hourly", 8759)],
)
def test_shipped_series_load_offline(name, length):
    spec = get_dataset(name)
    data = spec.load(spec.settings())
    assert len(data.facts.target) == length
    settings = spec.settings()
    assert data.x_train.shape[1:] == (settings.input_length, 1)
    assert data.y_test.shape[1] == settings.horizon
    assert len(data.facts.test_origins) == len(data.x_test)


def write_csv(tmp_path, text):
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def test_csv_happy_path_with_interpolation_and_drop(tmp_path):
    rows = ["date,load,temp"] + [
        f"{day.date()},{'' if i == 5 else i},{i * 2}"
        for i, day in enumerate(pd.date_range("2020-01-01", periods=120), start=1)
    ]
    path = write_csv(tmp_path, "\n".join(rows))
    settings = CsvSettings(
        path=str(path), time_column="date", value_columns=("temp",), target_column="load"
    )
    series = csv_series(settings)
    assert series.columns == ("temp", "load") and series.values.shape == (120, 2)
    assert series.target_values[4] == pytest.approx(5.0)  # interpolated between 4 and 6
    dropped = csv_series(
        CsvSettings(path=str(path), time_column="date", target_column="load", missing="drop")
    )
    assert len(dropped.values) == 119
    data = get_dataset("csv").load(settings)
    assert data.x_train.shape[1:] == (24, 2)


@pytest.mark.parametrize(
    "text, settings, message",
    [
        (None, {"target_column": "y"}, "CSV file not found"),
        ("t,y\n1,2\n", {"target_column": "z"}, "no column 'z'; columns there: t, y"),
        ("t,y\n1,2\n2,abc\n", {"target_column": "y"}, "column 'y' is not numeric (line 3: 'abc')"),
        ("t,y\n1,2\n", {"time_column": "when", "target_column": "y"}, "no column 'when'"),
        ("t,y\n1,2\n", {}, "'target_column' is required"),
        # Non-finite values: named by column and line; an empty cell stays a gap.
        ("t,y\n1,2\n2,\n3,inf\n", {"target_column": "y"}, "'y' holds an infinite value (line 4)"),
        ("t,y\n1,2\n2,-inf\n", {"target_column": "y"}, "'y' holds an infinite value (line 3)"),
        (
            "t,y\n1,2\n2,1e308\n3,-1e308\n",
            {"target_column": "y"},
            "'y' holds a value too large to scale (line 3: 1e+308)",
        ),
        # Time order, numbers and dates alike.
        (
            "t,y\n1,2\n2,3\n2,4\n",
            {"time_column": "t", "target_column": "y"},
            "strictly increasing time order, but line 4 ('2') does not come after line 3 ('2')",
        ),
        (
            "t,y\n2020-01-02,2\n2020-01-01,3\n",
            {"time_column": "t", "target_column": "y"},
            "line 3 ('2020-01-01') does not come after line 2 ('2020-01-02')",
        ),
        (
            "t,y\n2020-01-01,2\nlater,3\n",
            {"time_column": "t", "target_column": "y"},
            "column 't' is not a time at line 3 ('later')",
        ),
        (
            "t,y\n" + "".join(f"{i},{i}\n" for i in range(101)),
            {"target_column": "y", "max_rows": 100},
            "101 rows, more than max_rows = 100",
        ),
    ],
)
def test_csv_bad_inputs_are_named(tmp_path, text, settings, message):
    path = tmp_path / "missing.csv" if text is None else write_csv(tmp_path, text)
    with pytest.raises(DataError) as error:
        csv_series(CsvSettings(path=str(path), **settings))
    assert message in str(error.value)


SERIES = "hour,load,temp\n" + "\n".join(f"{h},{100 + h % 12},{h % 7}" for h in range(60))


def test_a_row_with_too_many_fields_is_one_line(tmp_path):
    # Found by `make fuzz`: pandas' tokenizer message ends in a newline.
    path = write_csv(tmp_path, "hour,load\n0,1\n,,2\n")
    with pytest.raises(DataError) as error:
        csv_series(CsvSettings(path=str(path), target_column="load"))
    assert str(error.value).endswith("Expected 2 fields in line 3, saw 3")


def test_a_value_beyond_float32_is_named_with_its_line(tmp_path):
    # Found by `make fuzz`: it passed the float64 check, then was inf in the float32 windows.
    rows = [f"{h},{100 + h % 12}" for h in range(60)]
    rows[40] = "40,1.56e39"
    path = write_csv(tmp_path, "hour,load\n" + "\n".join(rows))
    with pytest.raises(DataError, match=r"'load' holds a value too large to scale \(line 42"):
        csv_series(CsvSettings(path=str(path), target_column="load"))


@fuzz
@budget(150)
@given(content=fuzz_files(SERIES, csv_cells), time_column=st.sampled_from(["", "hour"]))
def test_fuzz_a_csv_series_loads_or_raises_a_data_error(content, time_column):
    def read(path):
        settings = CsvSettings(
            path=str(path),
            time_column=time_column,
            value_columns=("temp",),
            target_column="load",
            season_length=4,
            input_length=6,
            horizon=2,
        )
        return get_dataset("csv").load(settings)

    data, error = outcome(content, "series.csv", read, DataError)
    if error is None:
        data.check()
