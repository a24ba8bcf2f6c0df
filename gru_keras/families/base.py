"""What every task family is made of: typed data, a task, model options, and report panels.

A family is one folder under `gru_keras/families/` with `data.py` (loaders and their
settings), `model.py` (the Keras model and its options), `task.py` (loss, evaluation,
artifacts) and, if the report shows a view of its own, `panels.py` (its panel and appendix
rows, drawn with the leaf `gru_keras.drawing`; a family never imports `gru_keras.report`).
Its `__init__.py` gathers them in one `Family`, and `gru_keras.families.FAMILIES` lists
every family once.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import hashlib
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras.schema import as_test_metric
from gru_keras.variants import RecurrentVariant, stacked_core_params

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


class DataError(ValueError):
    """The data a config points at cannot be used (missing file, bad column...); the message
    names the problem. The runner reports it as a config error before any run starts."""


Inputs = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True)
class DataFacts:
    """What a family's loader knows about its data besides the arrays (sizes, vocabularies,
    test references, scales). Each family subclasses it with typed fields; fields are NumPy
    arrays, plain JSON values, or dataclasses of them, so a dataset can be cached as arrays
    and JSON (`to_arrays` / `from_arrays`)."""

    @property
    def input_dim(self) -> int | None:
        """Input size when the inputs are token ids (None: the last axis of `x`)."""
        return None


@dataclass
class SequenceData:
    """A dataset split three ways. Arrays are batch-first; `x_*` are `(examples, time,
    features)` arrays, or for models with several inputs (seq2seq) a dict of such arrays
    keyed by input name.

    Attributes:
        name: Registry name of the loader.
        x_train, y_train, x_val, y_val, x_test, y_test: The splits.
        facts: The family's typed facts about the data (a `DataFacts` subclass).
    """

    name: str
    x_train: Inputs
    y_train: np.ndarray
    x_val: Inputs
    y_val: np.ndarray
    x_test: Inputs
    y_test: np.ndarray
    facts: DataFacts = field(default_factory=DataFacts)

    @property
    def input_dim(self) -> int:
        declared = self.facts.input_dim
        return int(declared) if declared is not None else int(self.x_train.shape[-1])

    @property
    def train_size(self) -> int:
        return len(self.y_train)

    def check(self) -> None:
        """DataError naming the array, unless every split has as many inputs as targets,
        no array holds Python objects, and every float array (facts included) is finite.
        Run on every dataset a loader or a cache returns: a non-finite input or target can
        only become a NaN loss or a meaningless score."""
        arrays: dict[str, np.ndarray] = {}
        for split in SPLITS:
            part = getattr(self, split)
            parts = part if isinstance(part, dict) else {"": part}
            arrays.update({f"{split}{'.' + key if key else ''}": v for key, v in parts.items()})
        facts = {
            f"facts.{item.name}": getattr(self.facts, item.name)
            for item in dataclasses.fields(self.facts)
        }
        arrays.update({k: v for k, v in facts.items() if isinstance(v, np.ndarray)})
        for name, array in arrays.items():
            if not isinstance(array, np.ndarray) or array.dtype == object:
                raise DataError(f"{self.name}: {name} is not a plain array")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
                raise DataError(f"{self.name}: {name} holds a non-finite value at index {where}")
        for prefix in ("train", "val", "test"):
            inputs = [v for k, v in arrays.items() if k.startswith(f"x_{prefix}")]
            examples = {len(array) for array in [*inputs, arrays[f"y_{prefix}"]]}
            if len(examples) > 1:
                raise DataError(f"{self.name}: the {prefix} split's arrays differ in length")

    def digest(self) -> str:
        """A short hash of every array, so a run records exactly which data it saw."""
        sha = hashlib.sha256()
        for part in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            arrays = [part[key] for key in sorted(part)] if isinstance(part, dict) else [part]
            for array in arrays:
                sha.update(np.ascontiguousarray(array).tobytes())
        return sha.hexdigest()[:16]


# --- arrays and JSON, for the dataset cache --------------------------------------------------

SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
_JSON_KEY = "__facts__.json"


def _plain(value: Any) -> Any:
    """A facts value as JSON: dataclasses as dicts, tuples as lists, NumPy scalars as numbers."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _typed(value: Any, hint: Any) -> Any:
    """A JSON value back in the type its field declares (the inverse of `_plain`)."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{name: _typed(item, hints[name]) for name, item in value.items()})
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_typed(item, arguments[0]) for item in value)
        return tuple(_typed(item, kind) for item, kind in zip(value, arguments, strict=True))
    if origin is list:
        return [_typed(item, arguments[0]) for item in value]
    return value


def to_arrays(data: SequenceData) -> dict[str, np.ndarray]:
    """The dataset as named arrays: splits (dict inputs as `x_train.source`...), facts arrays
    as `facts.<field>`, and every other fact in one JSON string."""
    arrays: dict[str, np.ndarray] = {}
    for split in SPLITS:
        part = getattr(data, split)
        if isinstance(part, dict):
            arrays.update({f"{split}.{key}": value for key, value in part.items()})
        else:
            arrays[split] = part
    plain = {"name": data.name, "facts_type": type(data.facts).__qualname__, "facts": {}}
    for item in dataclasses.fields(data.facts):
        value = getattr(data.facts, item.name)
        if isinstance(value, np.ndarray):
            arrays[f"facts.{item.name}"] = value
        else:
            plain["facts"][item.name] = _plain(value)
    arrays[_JSON_KEY] = np.array(json.dumps(plain))
    return arrays


def from_arrays(arrays: dict[str, np.ndarray], facts_type: type[DataFacts]) -> SequenceData:
    """The inverse of `to_arrays`; KeyError or ValueError when the arrays are not a dataset
    of `facts_type` (a cache written by another version)."""
    plain = json.loads(str(arrays[_JSON_KEY]))
    if plain["facts_type"] != facts_type.__qualname__:
        raise ValueError(f"cached facts are {plain['facts_type']}, not {facts_type.__qualname__}")
    splits = {}
    for split in SPLITS:
        if split in arrays:
            splits[split] = arrays[split]
        else:
            prefix = f"{split}."
            splits[split] = {
                key.removeprefix(prefix): value
                for key, value in arrays.items()
                if key.startswith(prefix)
            }
            if not splits[split]:
                raise KeyError(split)
    hints = typing.get_type_hints(facts_type)
    values = {}
    for item in dataclasses.fields(facts_type):
        key = f"facts.{item.name}"
        values[item.name] = (
            arrays[key] if key in arrays else _typed(plain["facts"][item.name], hints[item.name])
        )
    return SequenceData(plain["name"], **splits, facts=facts_type(**values))


# --- datasets, tasks, families ---------------------------------------------------------------


@dataclass(frozen=True)
class NoOptions:
    """A task whose model has no options: `[datasets.X.model]` takes no keys."""


@dataclass(frozen=True)
class DatasetSpec:
    """How to make one dataset.

    Attributes:
        name: Registry name used in configs.
        task: The task (head, loss, metrics) that fits it.
        settings: Dataclass of its config keys, validated by the experiment config; every
            one of them changes the data (model options belong to the task).
        load: `load(settings) -> SequenceData`, deterministic given the settings.
        description: One line for data cards and `--help`.
        facts: The `DataFacts` subclass its loader returns (to read a cached copy back).
    """

    name: str
    task: Task
    settings: type
    load: Callable[[Any], SequenceData]
    description: str
    facts: type[DataFacts] = DataFacts


@dataclass
class Evaluation:
    """What a run's test evaluation produces: metrics (keyed without the `test_` prefix), and
    tables and figures to store as artifacts (file name -> DataFrame / matplotlib Figure)."""

    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


# A baseline turns the data into test predictions shaped like the model's, without training.
Baseline = Callable[[SequenceData], np.ndarray]


class Task(abc.ABC):
    """What turns a recurrent core into a trainable, evaluable model for one kind of data.

    Attributes:
        name: Registry name.
        headline_metric: The test metric that summarizes a run (logged as `test_<name>`).
        higher_is_better: Direction of the headline metric.
        recurrent_layers: How many recurrent layers the core stacks (for parameter matching).
        baselines: Non-neural models run beside the recurrent variants on the same test
            windows, logged as runs of their own (name -> `Baseline`).
        supports_diagnostics: Whether the model is inputs -> one unmasked layer named
            `recurrent` -> head, which the gradient diagnostics can step through by hand.
        model_options: Dataclass of the model's options (`[datasets.X.model]` in a suite).
        memory_probe: A synthetic task whose point is to hold information over a long span
            (the claims check reads GRU vs SimpleRNN on these).
        loss_at_last_step: The loss sits at the last step only, so how much gradient reaches
            step 1 measures distance (the gradient page prefers such a task).
        xla_variants: The variants whose runs `jit_compile = "auto"` compiles with XLA: those
            measured faster with it at the task's default size, compile time included.
            (Every task's steps compile under XLA, masking and CTC included, and agree with
            the plain steps: tests/experiment/test_xla.py.)
        reference_lines: What a model that learned nothing scores on the headline metric
            (name -> value: predicting the mean, chance), drawn on the report's metric plots.
        compared_pairs: The (first, second) variant pairs the report tests on this task's
            datasets; empty means the report's own (custom_gru against each other variant).
            (custom_gru, keras_gru) is always an equivalence test, any other a difference.
    """

    name: str = ""
    headline_metric: str = ""
    higher_is_better: bool = False
    recurrent_layers: int = 1
    baselines: dict[str, Baseline] = {}  # noqa: RUF012 - read-only class-level registry
    supports_diagnostics: bool = True
    model_options: type = NoOptions
    memory_probe: bool = False
    loss_at_last_step: bool = False
    xla_variants: frozenset[str] = frozenset()
    reference_lines: dict[str, float] = {}  # noqa: RUF012 - read-only class-level constant
    compared_pairs: tuple[tuple[str, str], ...] = ()

    @property
    def headline_column(self) -> str:
        """The headline metric as logged: `test_<headline_metric>`."""
        return as_test_metric(self.headline_metric)

    @abc.abstractmethod
    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        """The uncompiled model: inputs -> recurrent core -> task head."""

    @abc.abstractmethod
    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        """`loss` and `metrics` for `model.compile`, given the dataset's model options."""

    @abc.abstractmethod
    def evaluate_predictions(self, predictions: np.ndarray, data: SequenceData) -> Evaluation:
        """Score test-split predictions (from a model or a baseline)."""

    def core_parameters(
        self, variant: RecurrentVariant, data: SequenceData, options: Any
    ) -> Callable[[int], int]:
        """Parameters of the model's recurrent core as a function of units, for matching.

        The default is `recurrent_layers` stacked layers fed the data's features.
        """
        return stacked_core_params(variant, data.input_dim, self.recurrent_layers)

    def recurrent_parameter_count(self, model: keras.Model) -> int:
        """Parameters the recurrent core of a built model actually has (logged per run)."""
        return model.get_layer("recurrent").count_params()

    def fit_inputs(
        self, data: SequenceData, batch_size: int, seed: int, xla: bool = False
    ) -> dict[str, Any]:
        """Keyword arguments of `model.fit` for the training and validation data (`x`, `y`,
        `validation_data`, and `batch_size` or `steps_per_epoch`); `xla` says the steps are
        compiled with XLA, which compiles once per batch shape."""
        return {
            "x": data.x_train,
            "y": data.y_train,
            "validation_data": (data.x_val, data.y_val),
            "batch_size": batch_size,
        }

    @property
    def loss(self) -> Any:
        """The training loss, as given to `model.compile`."""
        return self.compile_kwargs()["loss"]

    def evaluate(
        self, model: keras.Model, data: SequenceData, batch_size: int, options: Any
    ) -> Evaluation:
        """Predict the test split and score it."""
        return self.evaluate_predictions(
            model.predict(data.x_test, batch_size=batch_size, verbose=0), data
        )


# `samples(inputs, datasets) -> DataFrame`: logged test examples on which the models' outputs
# differ, for the report's appendix (`gru_keras.drawing.samples.sample_translations` rows,
# with a `dataset` column first).
Samples = Callable[[Any, list[str]], pd.DataFrame]
# `panel(inputs, dataset, axis) -> caption`: a family's own view of one dataset, drawn in the
# right-hand panel of its family page (instead of quality against time); returns the
# caption's sentence about that panel, or None (having drawn nothing) to keep quality against
# time for that dataset.
Panel = Callable[[Any, str, Any], str | None]


@dataclass(frozen=True)
class Family:
    """One task family: its datasets (each with its task) and what the report shows of it.

    Attributes:
        name: The family's name (tag `family` of its runs).
        datasets: Its datasets.
        tables: Run artifacts its panels and samples need: artifact path -> table name in
            the report.
        samples: Its rows of the report's appendix of decoded test examples, or None.
        panel: Its own view of each dataset on its family page, or None.
        keras_objects: The module whose import registers the Keras objects (layers,
            losses) its saved models name, or None. It imports Keras, so it is imported
            only once Keras is (`gru_keras.families.register_keras_objects`).
    """

    name: str
    datasets: tuple[DatasetSpec, ...]
    tables: dict[str, str] = field(default_factory=dict)
    samples: Samples | None = None
    panel: Panel | None = None
    keras_objects: str | None = None

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(dict.fromkeys(spec.task for spec in self.datasets))


def untuned(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` without tf.data's autotuning, for a training stream with one fixed prefetch
    buffer, where there is nothing to tune. Autotuning runs a model thread beside every
    iterator, and the iterator's destructor waits for it: at the end of `fit` that wait took
    3-19 s in 10 of 28 runs of a map pilot (py-spy: the main thread in
    `RootDataset::Iterator::~Iterator`, waiting on an `UnboundedThreadPool` thread)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def batch_stream(batches: list, seed: int, signature: Any) -> tf.data.Dataset:
    """Batches a task prepared itself (cut to length, bucketed) as an endless tf.data
    stream for `model.fit` with `steps_per_epoch`, in a new order every epoch drawn from
    `seed`. `signature` is the `output_signature` of one batch. (Validation batches, in
    order, are `batch_sequence`.)"""

    import tensorflow as tf

    def generate():
        rng = np.random.default_rng(seed)
        while True:
            for index in rng.permutation(len(batches)):
                yield batches[index]

    return untuned(tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2))


def batch_sequence(batches: list, signature: Any) -> tf.data.Dataset:
    """Batches a task prepared itself, once each and in order, as a finite tf.data dataset
    built without a Python generator: for `validation_data`. `signature` is the
    `output_signature` of one batch (its dtypes are kept).

    Keras drops the validation iterator after every epoch. Dropping one over
    `Dataset.from_generator` while its prefetch thread waits inside the generator for the
    GIL stalled the epoch for about 10 s (11 of 26 epochs of one translation run); a dataset
    of tensors has no Python to wait for."""
    import tensorflow as tf

    datasets = [
        tf.data.Dataset.from_tensors(
            tf.nest.map_structure(
                lambda spec, array: tf.constant(array, spec.dtype), signature, batch
            )
        )
        for batch in batches
    ]
    return functools.reduce(tf.data.Dataset.concatenate, datasets)


def recurrent_model(
    variant: RecurrentVariant,
    units: int,
    data: SequenceData,
    head: keras.layers.Layer,
    return_sequences: bool = False,
) -> keras.Model:
    """inputs -> the variant's recurrent layer (named `recurrent`) -> `head`."""
    import keras

    inputs = keras.Input(data.x_train.shape[1:], name="sequence")
    states = variant.build(units, return_sequences=return_sequences, name="recurrent")(inputs)
    return keras.Model(inputs, head(states), name=f"{data.name}_{variant.name}")
