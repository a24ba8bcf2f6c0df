"""The experiment engine: config -> plan -> executor -> one tracked run -> MLflow."""
