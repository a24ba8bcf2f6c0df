"""Forecasting series (shipped by packages, or any CSV) cut into chronological windows.

A window with origin `o` reads the inputs `[o - input_length, o)` and forecasts the targets
`[o, o + horizon)`. A split's windows have all their targets inside the split; training
windows also have all their inputs inside it, while validation and test windows may read
earlier observations as context, as a forecaster in production would. Scalers are fitted on
the training segment only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gru_keras.families.base import DataError, DataFacts, SequenceData
from gru_keras.validation import PATH, between, one_of

_FRACTION = between(0.05, 0.45)
_LENGTH = between(1, 100_000)
MAX_ROWS = 2_000_000


@dataclass(frozen=True)
class Series:
    """A univariate or multivariate series in original units.

    Attributes:
        values: `(time, features)` float array.
        columns: Feature names; `target` is one of them.
        target: Name of the column to forecast.
        time: `(time,)` labels for plots and tables.
    """

    values: np.ndarray
    columns: tuple[str, ...]
    target: str
    time: np.ndarray

    @property
    def target_values(self) -> np.ndarray:
        return self.values[:, self.columns.index(self.target)]


def split_bounds(length: int, validation_fraction: float, test_fraction: float) -> tuple[int, int]:
    """`(train_end, validation_end)`: train is `[0, train_end)`, validation
    `[train_end, validation_end)` and test `[validation_end, length)`."""
    validation_end = length - round(length * test_fraction)
    train_end = validation_end - round(length * validation_fraction)
    return train_end, validation_end


def window_origins(
    start: int, end: int, input_length: int, horizon: int, stride: int, history: int = 0
) -> np.ndarray:
    """Origins `o` whose targets `[o, o + horizon)` lie in `[start, end)` and whose inputs
    `[o - input_length, o)`, plus `history` earlier steps they are differenced against,
    start at or after index 0."""
    first = max(start, input_length + history)
    return np.arange(first, end - horizon + 1, stride)


REFERENCES = ("last", "season")


def seasonal_index(origins: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """`(windows, horizon)` indices of the value one season before each forecast step that is
    already observed at the origin: step `o + h` maps to `o + h - m * ceil((h + 1) / m)`."""
    steps = np.arange(horizon)
    lags = season_length * (steps // season_length + 1)
    return origins[:, None] + steps[None, :] - lags[None, :]


def reference_values(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int, reference: str
) -> np.ndarray:
    """`(windows, horizon)` values the network's outputs are added to: the last observation
    (`last`), or the same phase one season earlier (`season`, the seasonal-naive forecast)."""
    if reference == "season":
        return target[seasonal_index(origins, horizon, season_length)]
    return np.repeat(target[origins - 1][:, None], horizon, axis=1)


def make_windows(
    features: np.ndarray,
    target: np.ndarray,
    origins: np.ndarray,
    input_length: int,
    horizon: int,
    season_length: int = 1,
    reference: str = "last",
) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled inputs `(windows, input_length, features)` and targets `(windows, horizon)`.

    With `reference="last"`, inputs are relative to the window's last observation
    (`x[t] - x[o - 1]`) and targets are changes from it (`y[o + h] - y[o - 1]`): the network
    learns the shape of the coming steps, not absolute levels, so a test period at levels
    never seen in training (sunspot cycle 19) does not push it off its training range.
    With `reference="season"`, inputs and targets are seasonal differences
    (`x[t] - x[t - m]`, `y[o + h]` minus its seasonal-naive forecast): the deseasonalization
    Hewamalage et al. (2021) found recurrent forecasters need on strongly seasonal series.
    """
    input_index = origins[:, None] + np.arange(-input_length, 0)[None, :]
    target_index = origins[:, None] + np.arange(horizon)[None, :]
    if reference == "season":
        inputs = features[input_index] - features[input_index - season_length]
    else:
        inputs = features[input_index] - features[origins - 1][:, None, :]
    changes = target[target_index] - reference_values(
        target, origins, horizon, season_length, reference
    )
    return inputs, changes


@dataclass(frozen=True)
class WindowScaler:
    """Scales of the inputs (per feature) and of the targets, fitted on training windows only.

    Nothing is centred: zero keeps meaning "no change from the reference", so a network
    that outputs zeros reproduces the reference forecast exactly.
    """

    input_scale: np.ndarray
    target_scale: float

    @classmethod
    def fit(cls, train_inputs: np.ndarray, train_targets: np.ndarray) -> WindowScaler:
        input_scale = train_inputs.reshape(-1, train_inputs.shape[-1]).std(axis=0)
        target_scale = float(train_targets.std())
        return cls(
            np.where(input_scale > 0, input_scale, 1.0), target_scale if target_scale > 0 else 1.0
        )

    def transform(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (inputs / self.input_scale).astype("float32"), (targets / self.target_scale).astype(
            "float32"
        )


@dataclass(frozen=True)
class WindowFacts(DataFacts):
    """What evaluation needs in original units.

    Attributes:
        season_length, input_length, horizon, reference: The windowing settings.
        train_end, validation_end: Split bounds (see `split_bounds`).
        target: The whole target series, original units.
        time: Time label of every step.
        test_origins: Origin of every test window.
        test_reference: `(windows, horizon)` values the test outputs are changes from.
        target_scale: What the scaled target changes were divided by.
    """

    season_length: int
    input_length: int
    horizon: int
    reference: str
    train_end: int
    validation_end: int
    target: np.ndarray
    time: np.ndarray
    test_origins: np.ndarray
    test_reference: np.ndarray
    target_scale: float


def windowed_data(
    name: str,
    series: Series,
    season_length: int,
    input_length: int,
    horizon: int,
    stride: int,
    validation_fraction: float,
    test_fraction: float,
    reference: str = "last",
) -> SequenceData:
    """Cut a series into scaled train / validation / test windows.

    `y_*` are scaled changes from each window's reference (see `make_windows`); the facts
    hold what evaluation needs in original units (`WindowFacts`).
    """
    length = len(series.values)
    train_end, validation_end = split_bounds(length, validation_fraction, test_fraction)
    history = season_length if reference == "season" else 0
    if train_end < input_length + history + horizon + season_length:
        raise DataError(
            f"{name}: the training segment has {train_end} points, too few for input_length "
            f"{input_length} + horizon {horizon} + season_length {season_length}"
            + (" (twice, for seasonal differences)" if history else "")
        )
    if length - validation_end < horizon or validation_end - train_end < horizon:
        raise DataError(
            f"{name}: the validation and test segments must each hold at least horizon = {horizon} points"
        )
    target = series.target_values.astype("float64")
    origins = {
        "train": window_origins(0, train_end, input_length, horizon, stride, history),
        "val": window_origins(train_end, validation_end, input_length, horizon, stride, history),
        "test": window_origins(validation_end, length, input_length, horizon, 1, history),
    }
    raw = {
        split: make_windows(
            series.values, target, split_origins, input_length, horizon, season_length, reference
        )
        for split, split_origins in origins.items()
    }
    scaler = WindowScaler.fit(*raw["train"])
    windows = {split: scaler.transform(*pair) for split, pair in raw.items()}
    return SequenceData(
        name,
        *windows["train"],
        *windows["val"],
        *windows["test"],
        facts=WindowFacts(
            season_length=season_length,
            input_length=input_length,
            horizon=horizon,
            reference=reference,
            train_end=train_end,
            validation_end=validation_end,
            target=target,
            time=np.asarray(series.time, dtype=str),
            test_origins=origins["test"],
            test_reference=reference_values(
                target, origins["test"], horizon, season_length, reference
            ),
            target_scale=scaler.target_scale,
        ),
    )


@dataclass(frozen=True)
class SunspotsSettings:
    """Attributes:
    season_length: Seasonal period for seasonal naive and MASE (132 months, the ~11-year cycle).
    input_length: Past steps the model reads.
    horizon: Steps forecast at once.
    stride: Step between training windows.
    validation_fraction, test_fraction: Chronological split sizes.
    reference: What the network forecasts changes from: `last` (the last observation) or
        `season` (the value one season earlier, i.e. it forecasts the seasonal difference).
    """

    season_length: int = field(default=132, metadata=_LENGTH)
    input_length: int = field(default=120, metadata=_LENGTH)
    horizon: int = field(default=12, metadata=_LENGTH)
    stride: int = field(default=1, metadata=_LENGTH)
    validation_fraction: float = field(default=0.15, metadata=_FRACTION)
    test_fraction: float = field(default=0.15, metadata=_FRACTION)
    reference: str = field(default="last", metadata=one_of(REFERENCES))


@dataclass(frozen=True)
class ElectricitySettings(SunspotsSettings):
    """Defaults: daily season (48 half-hours), two days in, one day out, seasonal differences."""

    season_length: int = field(default=48, metadata=_LENGTH)
    input_length: int = field(default=96, metadata=_LENGTH)
    horizon: int = field(default=48, metadata=_LENGTH)
    reference: str = field(default="season", metadata=one_of(REFERENCES))


@dataclass(frozen=True)
class SeattleSettings(SunspotsSettings):
    """Defaults: daily season (24 hours), three days in, one day out, seasonal differences."""

    season_length: int = field(default=24, metadata=_LENGTH)
    input_length: int = field(default=72, metadata=_LENGTH)
    horizon: int = field(default=24, metadata=_LENGTH)
    reference: str = field(default="season", metadata=one_of(REFERENCES))


def windows_for(name: str, series: Series, settings: SunspotsSettings) -> SequenceData:
    """`windowed_data` with the windowing fields of a settings dataclass."""
    return windowed_data(
        name,
        series,
        settings.season_length,
        settings.input_length,
        settings.horizon,
        settings.stride,
        settings.validation_fraction,
        settings.test_fraction,
        settings.reference,
    )


def sunspots_series() -> Series:
    from pmdarima.datasets import load_sunspots

    series = load_sunspots(as_series=True)
    return Series(
        series.to_numpy(float)[:, None], ("sunspots",), "sunspots", np.asarray(series.index, str)
    )


def electricity_series() -> Series:
    from pmdarima.datasets import load_taylor

    values = load_taylor(as_series=False).astype(float)
    # Taylor (2003): half-hourly demand from Monday 5 June 2000, 12 weeks.
    time = pd.date_range("2000-06-05", periods=len(values), freq="30min").astype(str).to_numpy()
    return Series(values[:, None], ("demand_mw",), "demand_mw", time)


def seattle_series() -> Series:
    from vega_datasets import data

    frame = data.seattle_temps()
    return Series(
        frame["temp"].to_numpy(float)[:, None],
        ("temp_f",),
        "temp_f",
        frame["date"].astype(str).to_numpy(),
    )


def shipped_loader(
    name: str, load_series: Callable[[], Series]
) -> Callable[[SunspotsSettings], SequenceData]:
    def load(settings: SunspotsSettings) -> SequenceData:
        return windows_for(name, load_series(), settings)

    return load


@dataclass(frozen=True)
class CsvSettings(SunspotsSettings):
    """Any CSV series.

    Attributes:
        path: CSV file (relative paths are relative to the suite file).
        time_column: Column with the time labels: numbers or dates, in strictly increasing
            order (rows out of order are an error naming the line).
        value_columns: Numeric input columns; the target is added if missing.
        target_column: Column to forecast.
        missing: `interpolate` (linear, then edge fill) or `drop` rows with missing values.
        max_rows: Longest series accepted; memory grows with it, so a file larger than
            planned is an error rather than an exhausted machine.
    """

    path: str = field(default="", metadata=PATH)
    time_column: str = ""
    value_columns: tuple[str, ...] = ()
    target_column: str = ""
    missing: str = field(default="interpolate", metadata=one_of(("interpolate", "drop")))
    max_rows: int = field(default=MAX_ROWS, metadata=between(100, 100_000_000))
    season_length: int = field(default=12, metadata=_LENGTH)
    input_length: int = field(default=24, metadata=_LENGTH)
    horizon: int = field(default=6, metadata=_LENGTH)


def csv_series(settings: CsvSettings) -> Series:
    """Read and check a CSV series; every problem is a `DataError` naming it."""
    if not settings.path:
        raise DataError("'path' is required for the csv dataset")
    path = Path(settings.path)
    if not path.is_file():
        raise DataError(f"CSV file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        # pandas' messages can end in a newline (found by the fuzz test): keep one line.
        raise DataError(f"cannot read {path} as CSV: {' '.join(str(error).split())}") from None
    if not settings.target_column:
        raise DataError("'target_column' is required for the csv dataset")
    columns = list(dict.fromkeys([*settings.value_columns, settings.target_column]))
    needed = [settings.time_column, *columns] if settings.time_column else columns
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: no column {missing[0]!r}; columns there: {', '.join(map(str, frame.columns))}"
        )
    if len(frame) > settings.max_rows:
        raise DataError(
            f"{path}: {len(frame)} rows, more than max_rows = {settings.max_rows}; raise "
            "max_rows (memory grows with it) or aggregate the series to a coarser step"
        )
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    for column in columns:
        bad = frame[column].notna() & values[column].isna()
        if bad.any():
            raise DataError(
                f"{path}: column {column!r} is not numeric "
                f"(line {_line(bad)}: {frame[column][bad].iloc[0]!r})"
            )
        _check_magnitudes(path, column, values[column].to_numpy(float))
    time = frame[settings.time_column] if settings.time_column else None
    if time is not None:
        _check_time_order(path, settings.time_column, time)
    time = time.astype(str) if time is not None else pd.Series(frame.index.astype(str))
    if settings.missing == "drop":
        keep = values.notna().all(axis=1)
        values, time = values[keep], time[keep]
    else:
        values = values.interpolate(limit_direction="both")
    if values.isna().any().any():
        raise DataError(f"{path}: a column has no numeric values at all")
    return Series(values.to_numpy(float), tuple(columns), settings.target_column, time.to_numpy())


def _line(rows: pd.Series | np.ndarray) -> int:
    """The file line of the first flagged row: 1-based, after the header line."""
    return int(np.flatnonzero(np.asarray(rows))[0]) + 2


def _check_magnitudes(path: Path, column: str, values: np.ndarray) -> None:
    """DataError naming the line of an infinite value, or of the value that overflows once
    the series is differenced and scaled (squared differences summed, as the scalers and
    RMSE do). Empty cells (NaN) are gaps for the `missing` setting, not errors."""
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"{path}: column {column!r} holds an infinite value (line {_line(infinite)})"
        )
    present = values[~np.isnan(values)]
    if not len(present):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.abs(present - present.mean())
        overflows = not np.isfinite(len(present) * np.max(2 * spread) ** 2)
        # The models train in float32: a value beyond its range became inf in the windows
        # (found by the fuzz test: 1.6e39 ended as "x_val holds a non-finite value").
        overflows |= bool(np.max(np.abs(present)) > np.finfo(np.float32).max / 4)
    if overflows:
        largest = np.zeros(len(values), bool)
        largest[np.nanargmax(np.abs(values))] = True
        raise DataError(
            f"{path}: column {column!r} holds a value too large to scale "
            f"(line {_line(largest)}: {values[largest][0]:g}); rescale the column"
        )


def _check_time_order(path: Path, column: str, time: pd.Series) -> None:
    """DataError naming the first line whose time is missing, unreadable, or not after the
    line before it. Numbers are compared as numbers, anything else parsed as dates."""
    numeric = pd.to_numeric(time, errors="coerce")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it must parse element by element
        parsed = numeric if numeric.notna().all() else pd.to_datetime(time, errors="coerce")
    if parsed.isna().any():
        raise DataError(
            f"{path}: column {column!r} is not a time at line {_line(parsed.isna())} "
            f"({str(time[parsed.isna()].iloc[0])!r}); use numbers or dates"
        )
    steps = parsed.diff().iloc[1:]
    not_after = np.asarray(steps <= (0 if parsed is numeric else pd.Timedelta(0)))
    if not_after.any():
        line = _line(np.r_[False, not_after])
        raise DataError(
            f"{path}: rows must be in strictly increasing time order, but line {line} "
            f"({str(time.iloc[line - 2])!r}) does not come after line {line - 1} "
            f"({str(time.iloc[line - 3])!r})"
        )


def load_csv(settings: CsvSettings) -> SequenceData:
    return windows_for("csv", csv_series(settings), settings)
