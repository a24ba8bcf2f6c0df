"""Where a suite's runs execute. Every module in this package is one executor: it defines
`EXECUTOR`, an object with the `gru_keras.experiment.executor.Executor` protocol, and its
module name is the name a suite file (`[suite] executor = ...`) and `--executor` choose it by.

Modules are found, not listed, and imported only when chosen
(`gru_keras.experiment.executor.get_executor`), so an executor's optional dependencies
(Ray) cost nothing to the others. This module imports nothing of the package.
"""

from __future__ import annotations

import pkgutil

LOCAL = "local"  # the default: runs on this machine, in this process or its workers
EXECUTORS: tuple[str, ...] = tuple(
    sorted(
        module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")
    )
)
