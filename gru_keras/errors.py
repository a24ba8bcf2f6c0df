"""The errors a user sees as one line and exit code 2 (see `gru_keras.__main__`)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad experiment config; the message is one line meant for the user."""
