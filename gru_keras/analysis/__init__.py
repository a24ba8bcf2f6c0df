"""Pure functions from runs to tables and verdicts; `runs.py` alone reads the store."""
