"""The PDF report: rendering only; the tables come from `gru_keras.analysis`."""
