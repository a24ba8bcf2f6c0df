"""The local executor: run after run in this process, one model at a time."""

from __future__ import annotations

import sys

from tqdm import tqdm

from gru_keras import schema
from gru_keras.experiment.plan import SuitePlan
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted, execute_run


class LocalExecutor:
    """Runs `plan.pending` in order. Ctrl-C marks the current run KILLED and stops."""

    def check(self, tracking_uri: str) -> None:
        """Any store works for one process."""

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        outcomes = []
        for spec in plan.pending:
            progress.set_postfix_str(spec.name)
            tqdm.write(f"--- {spec.name}", file=sys.stderr)
            try:
                outcome = execute_run(
                    spec,
                    plan.experiment_id,
                    plan.cache.get(spec.dataset),
                    plan.units_of(spec),
                    plan.verbose,
                )
            except KeyboardInterrupt:
                outcomes.append(RunOutcome(spec, schema.KILLED, reason="interrupted by the user"))
                raise SuiteInterrupted(outcomes) from None
            if outcome.status == schema.FAILED:
                tqdm.write(f"FAILED {outcome.spec.name}: {outcome.reason}", file=sys.stderr)
            outcomes.append(outcome)
            progress.update()
        return outcomes


EXECUTOR = LocalExecutor()
