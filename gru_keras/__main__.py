"""Command line: `python -m gru_keras COMMAND ...` (see `--help`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from gru_keras.experiment.executors import EXECUTORS

EXIT_USAGE, EXIT_RUNTIME, EXIT_INTERRUPTED = 2, 1, 130


def _add_suite_arguments(
    parser: argparse.ArgumentParser, default: str = "experiments/suite.toml", what: str = "suite"
) -> None:
    """The suite file and the tracking store, shared by `run`, `report`, `views` and `map`."""
    parser.add_argument(
        "suite",
        type=Path,
        nargs="?",
        default=Path(default),
        help=f"{what} TOML file (default {default})",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)",
    )


def _count(text: str) -> int:
    """A non-negative integer argument."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use 0 for the default")
    return value


def _add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how wide runs execute, shared by `run` and `map`."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="where runs execute: local (default; in this process) or ray (one Ray task per "
        "run; needs `make ray` and an MLflow server as the tracking URI)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join (ray://HOST:10001 or auto); default: start a local Ray",
    )
    parser.add_argument(
        "--jobs",
        type=_count,
        default=None,
        help="local runs at once, each in its own process (default [suite] jobs, else 0: one "
        "per core); 1 runs them one after another in this process",
    )
    parser.add_argument(
        "--threads",
        type=_count,
        default=None,
        help="TensorFlow threads per run (default [suite] threads, else 0: cores // jobs)",
    )


def _with_executor(suite, args: argparse.Namespace):
    """The suite with the executor arguments the command line gave."""
    import dataclasses

    overrides = {
        "name": args.executor,
        "address": args.address,
        "jobs": args.jobs,
        "threads": args.threads,
    }
    executor = dataclasses.replace(
        suite.executor, **{key: value for key, value in overrides.items() if value is not None}
    )
    return dataclasses.replace(suite, executor=executor)


def _usage_error(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return EXIT_USAGE


def _add_bench(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "bench",
        help="time custom_gru against keras_gru, lstm and simple_rnn",
        description="Time training steps and inference of every variant at the benchmark "
        "shapes, print the table with ratios to keras_gru, and save it as CSV.",
    )
    parser.add_argument(
        "--repeats", type=int, default=15, help="timed repeats per model (default 15)"
    )
    parser.add_argument("--quick", action="store_true", help="one tiny shape only (smoke check)")
    parser.add_argument(
        "--suite",
        type=Path,
        default=None,
        help="time the shapes of this suite file instead (its datasets' batch, length and "
        "features, units matched to their budgets; about 2 s of timing per shape, logged for "
        "that suite's report; `make experiment` runs it)",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="with --suite: time only this dataset's shape (repeatable; default every dataset)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow store the table is logged to, for the report "
        "(default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("reports/bench.csv"),
        help="CSV path (default reports/bench.csv)",
    )

    def bench_command(args: argparse.Namespace) -> int:
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        from gru_keras.errors import ConfigError
        from gru_keras.experiment.bench import (
            SUITE_SECONDS,
            default_shapes,
            format_table,
            log_bench,
            only_datasets,
            run_bench,
            suite_shapes,
        )
        from gru_keras.experiment.config import load_suite

        suite_name = ""
        if args.dataset and args.suite is None:
            parser.error("--dataset selects datasets of a --suite")
        if args.suite is not None:
            try:
                suite = load_suite(args.suite)
                suite = only_datasets(suite, args.dataset)
                shapes = suite_shapes(suite)
            except ConfigError as error:
                return _usage_error(error)
            if not shapes:
                return _usage_error(
                    f"{args.suite}: no dataset of this suite has sequence-of-vector inputs "
                    "to time (translation's token inputs are not benchmarked)"
                )
            suite_name = suite.name
            table = run_bench(
                shapes, repeats=args.repeats, output=args.output, min_seconds=SUITE_SECONDS
            )
        else:
            table = run_bench(default_shapes(args.quick), repeats=args.repeats, output=args.output)
        print(format_table(table))
        print(f"\nsaved {args.output}")
        run_id = log_bench(
            args.output, args.quick, args.repeats, args.tracking_uri, suite=suite_name
        )
        print(f"logged to MLflow experiment 'bench', run {run_id}")
        return 0

    return bench_command


def _add_run(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "run",
        help="run an experiment suite with MLflow tracking",
        description="Expand a suite (datasets x models x seeds) into MLflow runs named "
        "{dataset}__{model}__{seed} and execute them. Runs that already FINISHED with the same "
        "config are skipped, so an interrupted suite continues where it stopped.",
    )
    _add_suite_arguments(parser)
    parser.add_argument("--force", action="store_true", help="re-run runs that already finished")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch Keras output")
    _add_executor_arguments(parser)
    parser.add_argument(
        "--jit-compile",
        choices=("auto", "true", "false"),
        default=None,
        help="XLA for every dataset, overriding [training] jit_compile (auto: where measured "
        "faster); not part of a run's config, so it never makes a finished run re-run",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="run only some datasets, models or seeds, e.g. --only dataset=sunspots-monthly "
        "--only seed=0,1 (repeatable; a run must match every filter)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the runs to do and to skip, with times estimated from earlier runs in the "
        "store; runs and writes nothing",
    )

    def run_command(args: argparse.Namespace) -> int:
        from gru_keras.errors import ConfigError
        from gru_keras.experiment.config import load_suite, with_jit_compile

        try:
            suite = _with_executor(load_suite(args.suite), args)
            if args.jit_compile is not None:
                suite = with_jit_compile(
                    suite, {"true": True, "false": False}.get(args.jit_compile, "auto")
                )
            # Only now MLflow: a suite file's mistake is reported before it loads.
            from gru_keras.experiment.plan import parse_only
            from gru_keras.experiment.suite import dry_run, format_dry_run, run_suite, summary

            only = parse_only(args.only, suite)
            if args.dry_run:
                print(format_dry_run(dry_run(suite, args.force, args.tracking_uri, only)))
                return 0
            result = run_suite(
                suite,
                force=args.force,
                tracking_uri=args.tracking_uri,
                verbose=0 if args.quiet else 2,
                only=only,
            )
        except ConfigError as error:
            return _usage_error(error)
        print(summary(result))
        return result.exit_code

    return run_command


def _add_report(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "report",
        help="build the PDF comparison report of a suite from the MLflow store",
        description="Read a suite's runs from the MLflow tracking store and write "
        "reports/<suite>-<timestamp>.pdf and reports/latest.pdf (summary, head-to-head "
        "verdicts, per-family plots, gradient and gate diagnostics, claims check, correctness "
        "and speed), plus the summary and head-to-head tables as CSV and Markdown. The files "
        "are also logged to MLflow, to the parent run of the suite's latest `run` command.",
    )
    _add_suite_arguments(parser)
    parser.add_argument(
        "--experiment",
        default=None,
        help="MLflow experiment name, instead of a suite file (runs the suite never reached "
        "cannot then be listed as missing)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("reports"), help="where to write (default reports/)"
    )
    parser.add_argument(
        "--no-log", action="store_true", help="do not log the report files to MLflow"
    )

    def report_command(args: argparse.Namespace) -> int:
        from gru_keras.errors import ConfigError
        from gru_keras.experiment.config import load_suite
        from gru_keras.names import check_name

        experiment, expected = args.experiment, None
        if experiment is not None:
            try:
                check_name(experiment, "--experiment")
            except ValueError as error:
                return _usage_error(error)
        else:
            try:
                suite = load_suite(args.suite)
            except ConfigError as error:
                return _usage_error(error)
            from gru_keras.experiment.plan import expected_runs

            experiment, expected = suite.name, expected_runs(suite)
        from gru_keras.experiment import tracking
        from gru_keras.experiment.store import STORE_ERRORS, describe
        from gru_keras.report.build import build_report, log_report

        client = tracking.connect(args.tracking_uri, create=False)
        try:
            paths = build_report(client, experiment, args.output_dir, expected=expected, log=False)
        except ValueError as error:
            return _usage_error(error)
        print(paths[-1].read_text())
        print("wrote " + ", ".join(str(path) for path in paths))
        if not args.no_log:
            try:
                log_report(client, experiment, [paths[0], *paths[2:]])
            except STORE_ERRORS as error:
                print(
                    f"error: the report files are written, but logging them to "
                    f"{client.tracking_uri} failed: {describe(error)} (--no-log skips it)",
                    file=sys.stderr,
                )
                return EXIT_RUNTIME
        return 0

    return report_command


def _add_views(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "views",
        help="print the MLflow UI addresses of a suite's saved runs views",
        description="Print the MLflow UI addresses of the views `run` saves in a suite's "
        "experiment: every training run grouped by dataset and model (each variant's seeds "
        "averaged in one row, the four variants of a dataset together), and one view per "
        "dataset. `make ui` prints them before serving the UI.",
    )
    _add_suite_arguments(parser)
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment name, instead of a suite file"
    )
    parser.add_argument(
        "--ui",
        default=None,
        help="the UI's address (default: the tracking server for an http(s) store, else "
        "http://127.0.0.1:5000, where `make ui` serves)",
    )

    def views_command(args: argparse.Namespace) -> int:
        from gru_keras.errors import ConfigError
        from gru_keras.experiment import tracking
        from gru_keras.experiment.config import load_suite
        from gru_keras.experiment.invocation import view_url
        from gru_keras.experiment.suite import ui_base
        from gru_keras.names import check_name

        try:
            if args.experiment is not None:
                name = check_name(args.experiment, "--experiment")
            else:
                name = load_suite(args.suite).name
        except (ConfigError, ValueError) as error:
            return _usage_error(error)
        uri = args.tracking_uri or tracking.tracking_uri()
        client = tracking.connect(uri, create=False)
        found = client.get_experiment_by_name(name)
        if found is None:
            return _usage_error(
                ValueError(f"no experiment {name!r} in {uri} yet; `make experiment` creates it")
            )
        base = args.ui or ui_base(uri)
        experiment_id = found.experiment_id
        datasets = [d for d in found.tags.get("datasets", "").split(", ") if d]
        print(f"{name}: every run, grouped by dataset and model")
        print(f"  {view_url(base, experiment_id)}")
        if datasets:
            print("one dataset's variants side by side:")
            width = max(map(len, datasets))
            for dataset in datasets:
                print(f"  {dataset:<{width}}  {view_url(base, experiment_id, dataset)}")
        return 0

    return views_command


def _add_map(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "map",
        help="run a decision map (experiments/map.toml) stage by stage and render it",
        description="Run a map suite: stage 1 trains every cell (length x training size x "
        "parameter budget, per task) with the first seeds; each later stage adds seeds to "
        "the cells a comparison left undecided. Then judge every cell (an exact permutation "
        "test + Holm: better "
        "or worse; TOST: equivalent; else undecided) and write reports/<suite>-map.pdf and "
        "reports/<suite>-map.csv, logged to the suite's newest parent run in MLflow. Every "
        "stage is an ordinary suite run: finished runs are skipped, so an interrupted map "
        "continues where it stopped.",
    )
    _add_suite_arguments(parser, "experiments/map.toml", "map suite")
    parser.add_argument("--force", action="store_true", help="re-run runs that already finished")
    parser.add_argument("--verbose", action="store_true", help="per-epoch Keras output")
    _add_executor_arguments(parser)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: judge and render the map from the runs the store has",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("reports"), help="where to write (default reports/)"
    )
    parser.add_argument("--no-log", action="store_true", help="do not log the files to MLflow")

    def map_command(args: argparse.Namespace) -> int:
        from gru_keras.errors import ConfigError
        from gru_keras.experiment.config import load_suite

        try:
            suite = _with_executor(load_suite(args.suite), args)
            if suite.map is None:
                raise ConfigError(
                    f"{args.suite}: not a map: it has no [map] table; `run` runs a suite, "
                    "`map` a map such as experiments/map.toml"
                )
            from gru_keras.decision_map import render, run_map

            if args.report_only:
                from gru_keras.experiment import tracking

                client = tracking.connect(args.tracking_uri, create=False)
                try:
                    _, paths = render(client, suite, args.output_dir, not args.no_log)
                except ValueError as error:
                    return _usage_error(error)
                print("wrote " + ", ".join(map(str, paths)))
                return 0
            result = run_map(
                suite,
                force=args.force,
                tracking_uri=args.tracking_uri,
                verbose=2 if args.verbose else 0,
                output_dir=args.output_dir,
                log=not args.no_log,
            )
        except ConfigError as error:
            return _usage_error(error)
        if result.paths:
            print("wrote " + ", ".join(map(str, result.paths)))
        return result.exit_code

    return map_command


def _add_tune(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "tune",
        help="tune every dataset and variant of a suite with the same budget (Optuna)",
        description="Run the suite's [tuning] search for every dataset and variant: the same "
        "trials and pruning rungs for each, every trial a tracked run in the MLflow experiment "
        "<suite>-tuning, judged on validation only (the test split is never read). Then write "
        "the best settings to tuned/<suite file stem>.toml beside the suite (a suite includes "
        "it with [suite] tuned) and reports/<suite>-tuning.pdf and .csv. An interrupted tune "
        "continues where it stopped.",
    )
    _add_suite_arguments(parser)
    parser.add_argument("--verbose", action="store_true", help="per-epoch Keras output")
    _add_executor_arguments(parser)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="tune only some datasets or models, e.g. --only dataset=sunspots-monthly "
        "(repeatable); the settings file is written only when every pair is tuned",
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="the Optuna studies' storage: a journal file path or a database URL (default "
        "$GRU_KERAS_TUNING_STORAGE, else studies/<suite>-tuning.journal beside the sqlite store)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the budget, the rungs and each study's trials done and due; runs nothing",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: write the tuning report from the studies and trials as they stand",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("reports"), help="where to write (default reports/)"
    )

    def tune_command(args: argparse.Namespace) -> int:
        from gru_keras.errors import ConfigError
        from gru_keras.experiment.config import load_suite

        try:
            suite = _with_executor(load_suite(args.suite, tuned=False), args)
            from gru_keras.experiment.plan import parse_only

            only = parse_only(args.only, suite)
            if "seed" in only:
                raise ConfigError(
                    "--only seed=...: every trial trains with [tuning] trial_seed; select "
                    "datasets or models"
                )
            from gru_keras.tuning import check_tunable, dry_run, summary, tune

            check_tunable(suite)
            if args.report_only:
                from gru_keras.tuning import report_only

                paths = report_only(suite, only, args.storage, args.tracking_uri, args.output_dir)
                print("wrote " + ", ".join(map(str, paths)))
                return 0
            if args.dry_run:
                print(dry_run(suite, only, args.storage, args.tracking_uri))
                return 0
            result = tune(
                suite,
                tracking_uri=args.tracking_uri,
                verbose=2 if args.verbose else 0,
                only=only,
                storage=args.storage,
                output_dir=args.output_dir,
            )
        except ConfigError as error:
            return _usage_error(error)
        print(summary(result))
        return result.exit_code

    return tune_command


COMMANDS = {
    "run": _add_run,
    "tune": _add_tune,
    "map": _add_map,
    "report": _add_report,
    "bench": _add_bench,
    "views": _add_views,
}


def build_parser() -> tuple[
    argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]
]:
    parser = argparse.ArgumentParser(
        prog="python -m gru_keras",
        description="A GRU written from its equations, compared with Keras's recurrent layers.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers = {name: add(subparsers) for name, add in COMMANDS.items()}
    return parser, handlers


def _one_line(error: Exception) -> int:
    """The exit code of an error the user can act on, printed as one line; anything else is
    a bug and keeps its traceback."""
    import mlflow

    from gru_keras.errors import ConfigError
    from gru_keras.experiment.store import STORE_ERRORS, StoreError, describe

    if isinstance(error, StoreError):
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    if isinstance(error, ConfigError):
        return _usage_error(error)
    if isinstance(error, STORE_ERRORS):
        print(
            f"error: tracking store {mlflow.get_tracking_uri()}: {describe(error)}",
            file=sys.stderr,
        )
        return EXIT_RUNTIME
    raise error


def main(argv: list[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:  # before or after a suite's runs (they handle their own)
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        return _one_line(error)


if __name__ == "__main__":
    sys.exit(main())
