"""Forecasting: shipped series (sunspots, electricity demand, Seattle temperatures) and any
CSV, cut into chronological windows, against naive, seasonal-naive and ETS baselines."""

from gru_keras.families.base import DatasetSpec, Family
from gru_keras.families.forecasting.data import (
    CsvSettings,
    ElectricitySettings,
    SeattleSettings,
    SunspotsSettings,
    WindowFacts,
    electricity_series,
    load_csv,
    seattle_series,
    shipped_loader,
    sunspots_series,
)
from gru_keras.families.forecasting.panels import FORECASTS, forecast_panel
from gru_keras.families.forecasting.task import FORECAST_FILE, DirectForecast

TASK = DirectForecast()
FAMILY = Family(
    "forecasting",
    datasets=tuple(
        DatasetSpec(name, TASK, settings, load, description, facts=WindowFacts)
        for name, settings, load, description in (
            (
                "sunspots-monthly",
                SunspotsSettings,
                shipped_loader("sunspots-monthly", sunspots_series),
                "monthly sunspot numbers 1749-1983 (pmdarima)",
            ),
            (
                "electricity-halfhourly",
                ElectricitySettings,
                shipped_loader("electricity-halfhourly", electricity_series),
                "half-hourly electricity demand, Taylor 2003 (pmdarima)",
            ),
            (
                "seattle-temps-hourly",
                SeattleSettings,
                shipped_loader("seattle-temps-hourly", seattle_series),
                "hourly Seattle temperatures 2010 (vega_datasets)",
            ),
            ("csv", CsvSettings, load_csv, "any CSV series named in the config"),
        )
    ),
    tables={FORECAST_FILE: FORECASTS},
    panel=forecast_panel,
)
