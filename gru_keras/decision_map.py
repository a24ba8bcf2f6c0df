"""`python -m gru_keras map SUITE`: run a decision map stage by stage, then render it.

Stage 1 runs every cell of the map with its first seeds; each later stage runs only the
cells some comparison left undecided, with more seeds. Each stage is an ordinary suite run
(`gru_keras.experiment.suite.run_suite`) of the same suite, so finished runs are skipped,
an interrupted map resumes, and `--jobs` and `--executor ray` work unchanged. The map is
then judged from the store (`gru_keras.analysis.decision`) and written as
`reports/<suite>-map.pdf` and `reports/<suite>-map.csv`, both logged to the suite's newest
parent run.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.analysis.decision import map_table, time_to_target, undecided_cells
from gru_keras.analysis.runs import load_curves, load_runs
from gru_keras.errors import ConfigError
from gru_keras.experiment import tracking
from gru_keras.experiment.config import SuiteConfig
from gru_keras.experiment.suite import SuiteResult, executor_session, run_suite, summary
from gru_keras.grid import MapSpec
from gru_keras.names import inside
from gru_keras.report.build import log_report, write_pdf
from gru_keras.report.decision import map_pages, write_csv


@dataclass
class MapResult:
    """What `run_map` did: each stage's suite result, the final table and the files."""

    stages: list[SuiteResult] = field(default_factory=list)
    table: pd.DataFrame | None = None
    paths: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        codes = [stage.exit_code for stage in self.stages]
        return max(codes, default=0) if 130 not in codes else 130


def stage_suite(suite: SuiteConfig, cells: list[str], seeds: int) -> SuiteConfig:
    """The suite of one stage: only `cells`, with seeds 0 .. `seeds` - 1."""
    keep = set(cells)
    return dataclasses.replace(
        suite,
        datasets=tuple(dataset for dataset in suite.datasets if dataset.key in keep),
        seeds=tuple(range(seeds)),
    )


def target_seconds(client: MlflowClient, runs: pd.DataFrame, spec: MapSpec) -> pd.DataFrame:
    """Every run's seconds of training until its validation headline reached its task's
    target (`decision.time_to_target`)."""
    frames = []
    keys = ["dataset", "model", "seed", "epoch"]
    for task in spec.tasks:
        mine = runs[runs["dataset"].isin({cell.key for cell in spec.cells(task.name)})]
        values = load_curves(client, mine, f"{schema.VAL}{task.metrics[0]}")
        seconds = load_curves(client, mine, schema.EPOCH_SECONDS).rename(
            columns={"value": "seconds"}
        )
        frames.append(time_to_target(values.merge(seconds, on=keys), task.target))
    return pd.concat(frames, ignore_index=True)


def judge(client: MlflowClient, suite: SuiteConfig, stages: int | None = None) -> pd.DataFrame:
    """The map's table from the store, as of `stages` stages (default all)."""
    runs = load_runs(client, suite.name)
    return map_table(suite.map, runs, target_seconds(client, runs, suite.map), stages)


def render(
    client: MlflowClient, suite: SuiteConfig, output_dir: Path, log: bool = True
) -> tuple[pd.DataFrame, list[Path]]:
    """Judge the map and write its PDF and CSV (logged to the newest parent run unless
    `log` is False)."""
    table = judge(client, suite)
    pdf = write_pdf(
        map_pages(table, suite.map, suite.name),
        inside(output_dir, f"{suite.name}-map.pdf"),
        f"gru-keras decision map: {suite.name}",
    )
    csv = write_csv(table, inside(output_dir, f"{suite.name}-map.csv"))
    if log:
        log_report(client, suite.name, [pdf, csv])
    return table, [pdf, csv]


def run_map(
    suite: SuiteConfig,
    force: bool = False,
    tracking_uri: str | None = None,
    verbose: int = 0,
    output_dir: Path = Path("reports"),
    log: bool = True,
) -> MapResult:
    """Run every stage of the map `suite` and render it.

    Raises:
        ConfigError: when `suite` is not a map, or a stage cannot start.
    """
    spec = suite.map
    if spec is None:
        raise ConfigError(
            f"{suite.path}: not a map: it has no [map] table (see experiments/map.toml)"
        )
    result = MapResult()
    uri = tracking_uri or tracking.tracking_uri()
    cells = [dataset.key for dataset in suite.datasets]
    with executor_session(suite, uri, verbose):
        for stage, seeds in enumerate(spec.seeds, start=1):
            if stage > 1:
                client = tracking.connect(uri, create=False)
                cells = undecided_cells(judge(client, suite, stages=stage - 1))
                if not cells:
                    print(
                        f"stage {stage}: no cell is undecided; the map is complete", file=sys.stderr
                    )
                    break
            print(
                f"stage {stage} of {len(spec.seeds)}: {len(cells)} cells, seeds 0-{seeds - 1}",
                file=sys.stderr,
            )
            outcome = run_suite(
                stage_suite(suite, cells, seeds),
                force=force and stage == 1,  # stage 1 re-ran every cell; later stages add seeds
                tracking_uri=uri,
                verbose=verbose,
            )
            result.stages.append(outcome)
            print(summary(outcome))
            if outcome.interrupted:
                return result
    client = tracking.connect(uri, create=False)
    result.table, result.paths = render(client, suite, output_dir, log)
    return result
