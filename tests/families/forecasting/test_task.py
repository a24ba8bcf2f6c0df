import numpy as np
import pytest

from gru_keras.families import get_task
from gru_keras.families.forecasting.data import Series, windowed_data
from gru_keras.families.forecasting.task import (
    ets_forecasts,
    forecast_metrics,
    mase_scale,
    naive_forecasts,
    seasonal_naive_forecasts,
)


def test_mase_on_a_hand_computed_example():
    train = np.array([1.0, 3.0, 2.0, 4.0, 3.0])
    # Seasonal (m=2) naive errors in sample: |2-1|, |4-3|, |3-2| -> mean 1.
    assert mase_scale(train, 2) == pytest.approx(1.0)
    # Non-seasonal (m=1): |2|, |1|, |2|, |1| -> 1.5
    assert mase_scale(train, 1) == pytest.approx(1.5)
    metrics = forecast_metrics(np.array([[2.0, 4.0]]), np.array([[1.0, 1.0]]), scale=2.0)
    assert metrics == pytest.approx({"mae": 2.0, "rmse": np.sqrt(5.0), "mase": 1.0})


def test_naive_and_seasonal_naive_by_hand():
    target = np.arange(10.0) * 10  # 0, 10, ..., 90
    origins = np.array([6, 8])
    np.testing.assert_array_equal(naive_forecasts(target, origins, 3), [[50, 50, 50], [70, 70, 70]])
    # Season 2: step o+h takes y[o+h-2*ceil((h+1)/2)] -> o=6: y4, y5, y4 ... repeating the last season.
    np.testing.assert_array_equal(
        seasonal_naive_forecasts(target, origins, 3, 2), [[40, 50, 40], [60, 70, 60]]
    )


def test_rolling_ets_equals_refiltering_per_origin():
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    rng = np.random.default_rng(0)
    steps = np.arange(400)
    target = 10 + 3 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 0.3, 400)
    origins = np.array([300, 333, 380])
    rolled = ets_forecasts(
        target, origins, horizon=8, season_length=12, train_end=280, seasonal=True
    )
    fitted = ExponentialSmoothing(
        target[:280], trend=False, seasonal=12, initialization_method="heuristic"
    ).fit(disp=False)
    for row, origin in enumerate(origins):
        np.testing.assert_allclose(
            rolled[row], fitted.apply(target[:origin]).forecast(8), rtol=1e-8
        )


def test_baselines_and_model_scores_use_the_same_test_windows():
    steps = np.arange(600)
    values = 5 + np.sin(2 * np.pi * steps / 24)
    data = windowed_data(
        "toy", Series(values[:, None], ("y",), "y", steps.astype(str)), 24, 48, 12, 1, 0.15, 0.15
    )
    task = get_task("direct_forecast")
    assert set(task.baselines) == {"naive", "seasonal_naive", "ets"}
    # A perfectly periodic series: seasonal naive is exact; the others are not.
    seasonal = task.evaluate_predictions(task.baselines["seasonal_naive"](data), data)
    naive = task.evaluate_predictions(task.baselines["naive"](data), data)
    assert seasonal.metrics["mae"] == pytest.approx(0.0, abs=1e-9) and naive.metrics["mae"] > 0.1
    # The scaled change targets undo exactly to the truth.
    perfect = task.evaluate_predictions(
        data.facts.test_reference + data.y_test * data.facts.target_scale, data
    )
    assert perfect.metrics["mae"] == pytest.approx(0.0, abs=1e-4)
    assert list(seasonal.tables["forecast.csv"].columns) == [
        "time",
        "origin",
        "step",
        "truth",
        "forecast",
    ]
    assert "forecast.png" in seasonal.figures


@pytest.mark.parametrize("reference, baseline", [("last", "naive"), ("season", "seasonal_naive")])
def test_a_model_that_predicts_no_change_scores_as_its_reference_baseline(reference, baseline):
    import keras

    steps = np.arange(500)
    values = 5 + np.sin(2 * np.pi * steps / 24) + np.random.default_rng(1).normal(0, 0.1, 500)
    data = windowed_data(
        "toy",
        Series(values[:, None], ("y",), "y", steps.astype(str)),
        24,
        48,
        12,
        1,
        0.15,
        0.15,
        reference,
    )
    task = get_task("direct_forecast")
    inputs = keras.Input(data.x_train.shape[1:])
    zeros = keras.layers.Dense(12, kernel_initializer="zeros")(keras.layers.Flatten()(inputs))
    model_score = task.evaluate(keras.Model(inputs, zeros), data, 32, None).metrics
    baseline_score = task.evaluate_predictions(task.baselines[baseline](data), data).metrics
    assert model_score == pytest.approx(baseline_score)
