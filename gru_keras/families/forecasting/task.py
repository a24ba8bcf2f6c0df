"""Direct multi-step forecasting: recurrent core -> Dense(horizon), scored in original units
against naive, seasonal-naive and ETS baselines on exactly the same test windows."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.families.base import Evaluation, SequenceData, Task
from gru_keras.families.forecasting.data import seasonal_index
from gru_keras.families.forecasting.model import forecast_model
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    from matplotlib.figure import Figure

if TYPE_CHECKING:
    import keras

# The forecast stretch every run logs; the report overlays the models' stretches.
FORECAST_FILE, FORECAST_FIGURE = "forecast.csv", "forecast.png"
PLOT_WINDOWS = 4  # consecutive non-overlapping test windows shown in the forecast artifact


def mase_scale(train_target: np.ndarray, season_length: int) -> float:
    """In-sample mean absolute error of the seasonal-naive forecast (Hyndman & Koehler 2006)."""
    if len(train_target) <= season_length:
        raise ValueError("The training series must be longer than the season length.")
    return float(np.mean(np.abs(train_target[season_length:] - train_target[:-season_length])))


def forecast_metrics(forecasts: np.ndarray, truth: np.ndarray, scale: float) -> dict[str, float]:
    """MAE, RMSE and MASE over every window and step, in original units."""
    errors = forecasts - truth
    mae = float(np.mean(np.abs(errors)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean(errors**2))), "mase": mae / scale}


def naive_forecasts(target: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated over the horizon."""
    return np.repeat(target[origins - 1][:, None], horizon, axis=1)


def seasonal_naive_forecasts(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int
) -> np.ndarray:
    """The value one season earlier: step `o + h` gets `y[o + h - m * ceil((h + 1) / m)]`."""
    return target[seasonal_index(origins, horizon, season_length)]


# The ETS specification per dataset: additive error, no trend, additive seasonality with
# the dataset's season length where the series has a fixed one. Smoothing parameters are
# estimated on the training segment with heuristic initial states, then held fixed while
# the filter rolls through validation and test.
ETS_SEASONAL = {
    "sunspots-monthly": False,  # the ~11-year cycle varies in length: level only
    "electricity-halfhourly": True,
    "seattle-temps-hourly": True,
    "csv": True,
}


def ets_forecasts(
    target: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    season_length: int,
    train_end: int,
    seasonal: bool,
) -> np.ndarray:
    """ETS forecasts from every origin, from one fit and one filtering pass.

    The fitted state-space model is filtered once over the whole series with the fitted
    parameters; the forecast from origin `o` is `Z T^h a_{o-1|o-1}`, the same as refitting the
    filter on `y[:o]` and calling `forecast(horizon)`, without refiltering per window.
    Memory stays linear and small: the fit keeps no per-step output (`low_memory`), and the
    filter keeps only the filtered state means, not the state covariances, which for a
    seasonal model are (season + 2)^2 numbers per step (18 GB for 2 M half-hours).
    """
    from statsmodels.tsa.statespace import kalman_filter
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    specification = {
        "trend": False,
        "seasonal": season_length if seasonal else None,
        "initialization_method": "heuristic",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(target[:train_end], **specification).fit(
            disp=False, low_memory=True
        )
        # The heuristic initial states come from the first seasons, which both models share.
        whole = ExponentialSmoothing(target, **specification)
        whole.ssm.set_conserve_memory(
            kalman_filter.MEMORY_NO_FORECAST
            | kalman_filter.MEMORY_NO_PREDICTED
            | kalman_filter.MEMORY_NO_FILTERED_COV
            | kalman_filter.MEMORY_NO_LIKELIHOOD
            | kalman_filter.MEMORY_NO_GAIN
            | kalman_filter.MEMORY_NO_SMOOTHING
            | kalman_filter.MEMORY_NO_STD_FORECAST
        )
        filtered = whole.filter(fitted.params, return_ssm=True)
    design = filtered.design[:, :, 0]
    transition = filtered.transition[:, :, 0]
    state = filtered.filtered_state[:, origins - 1]  # (k_states, windows)
    forecasts = np.empty((len(origins), horizon))
    for step in range(horizon):
        state = transition @ state
        forecasts[:, step] = (design @ state)[0]
    return forecasts


def _truth(data: SequenceData) -> np.ndarray:
    origins, horizon = data.facts.test_origins, data.facts.horizon
    return data.facts.target[origins[:, None] + np.arange(horizon)[None, :]]


class DirectForecast(Task):
    """Read `input_length` steps, forecast `horizon` steps at once (no feedback)."""

    name = "direct_forecast"
    headline_metric = "mase"
    higher_is_better = False
    # Monthly sunspots, 15 epochs, 2 jobs x 1 thread: the GRUs' epochs take 0.6 s instead
    # of 1.1 s with XLA, which repays its 5 s of compilation; LSTM and SimpleRNN gain less
    # than they pay.
    xla_variants = frozenset({schema.CUSTOM_GRU, schema.KERAS_GRU})
    baselines = {  # noqa: RUF012
        "naive": lambda data: naive_forecasts(
            data.facts.target, data.facts.test_origins, data.facts.horizon
        ),
        "seasonal_naive": lambda data: seasonal_naive_forecasts(
            data.facts.target,
            data.facts.test_origins,
            data.facts.horizon,
            data.facts.season_length,
        ),
        "ets": lambda data: ets_forecasts(
            data.facts.target,
            data.facts.test_origins,
            data.facts.horizon,
            data.facts.season_length,
            data.facts.train_end,
            ETS_SEASONAL.get(data.name, True),
        ),
    }

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        return forecast_model(variant, units, data)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        # Training sees scaled targets; the test metrics are in the series' own units.
        import keras

        return {"loss": "mse", "metrics": [keras.metrics.MeanAbsoluteError(name="mae_scaled")]}

    def evaluate(
        self, model: keras.Model, data: SequenceData, batch_size: int, options: Any
    ) -> Evaluation:
        scaled_changes = model.predict(data.x_test, batch_size=batch_size, verbose=0)
        forecasts = data.facts.test_reference + scaled_changes * data.facts.target_scale
        return self.evaluate_predictions(forecasts, data)

    def evaluate_predictions(self, forecasts: np.ndarray, data: SequenceData) -> Evaluation:
        """Score forecasts given in original units (the models' are unscaled first)."""
        truth = _truth(data)
        scale = mase_scale(data.facts.target[: data.facts.train_end], data.facts.season_length)
        stretch = forecast_stretch(forecasts, data)
        return Evaluation(
            forecast_metrics(forecasts, truth, scale),
            tables={FORECAST_FILE: stretch},
            figures={FORECAST_FIGURE: plot_stretch(stretch, data.name)},
        )


def forecast_stretch(forecasts: np.ndarray, data: SequenceData) -> pd.DataFrame:
    """The first `PLOT_WINDOWS` back-to-back test windows: time, truth and forecast per step.
    The same stretch for every model, so the report can overlay them."""
    horizon = data.facts.horizon
    origins = data.facts.test_origins
    picked = np.arange(0, len(origins), horizon)[:PLOT_WINDOWS]
    rows = []
    for window in picked:
        origin = int(origins[window])
        for step in range(horizon):
            rows.append(
                {
                    "time": data.facts.time[origin + step],
                    "origin": data.facts.time[origin],
                    "step": step + 1,
                    "truth": float(data.facts.target[origin + step]),
                    "forecast": float(forecasts[window, step]),
                }
            )
    return pd.DataFrame(rows)


def plot_stretch(stretch: pd.DataFrame, title: str) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3), layout="constrained")
    axis = figure.subplots()
    positions = np.arange(len(stretch))
    axis.plot(positions, stretch["truth"], color="black", linewidth=1.2, label="truth")
    for _, window in stretch.groupby("origin", sort=False):
        axis.plot(window.index, window["forecast"], color="tab:blue", linewidth=1.2)
    axis.plot([], [], color="tab:blue", label="forecast")
    step = max(1, len(stretch) // 6)
    axis.set_xticks(positions[::step], stretch["time"].iloc[::step], rotation=20, fontsize=7)
    axis.set_ylabel("value (original units)")
    axis.set_title(
        f"{title}: forecasts from {stretch['origin'].nunique()} origins on the test split",
        fontsize=9,
    )
    axis.legend(fontsize=8)
    return figure
