"""The run schema and the package's shape: one module names what is read back, families are
self-contained folders, and no module imports another in a cycle."""

import ast
from pathlib import Path

from gru_keras import schema
from gru_keras.experiment.executors import EXECUTORS
from gru_keras.experiment.identity import run_config
from gru_keras.families import DATASETS, FAMILIES, TASKS
from gru_keras.variants import VARIANTS

PACKAGE = Path(__file__).resolve().parents[1] / "gru_keras"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The package modules a module imports, at any depth: inside functions, and under
    `if TYPE_CHECKING:` too (a type-only import is still a dependency a reader follows)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gru_keras"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gru_keras"))
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {
        name: {target for target in imports_of(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    # A package's module importing its own package (`from gru_keras.experiment import
    # tracking` names the package first) is not a dependency on the package's __init__.
    return {
        name: {t for t in targets if not (name.startswith(t + ".") and t in graph)}
        for name, targets in graph.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """The first import cycle of `graph` (a path that ends where it starts), or None."""
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name, [name])):
            return cycle
    return None


def test_no_module_imports_another_in_a_cycle_type_only_imports_counted():
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_sees_a_cycle_through_a_type_only_import(tmp_path):
    """The test above can fail: a loop held together by `if TYPE_CHECKING:` is found."""
    source = tmp_path / "b.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gru_keras.a import A\n"
    )
    graph = {"gru_keras.a": {"gru_keras.b"}, "gru_keras.b": imports_of(source) - {"gru_keras.a.A"}}
    assert find_cycle(graph) == ["gru_keras.a", "gru_keras.b", "gru_keras.a"]


# The layers, lowest first. A module may import its own layer's modules and any lower layer,
# never a higher one. Leaves are single modules (and the `drawing` package of them) that import
# only other leaves; `families` supplies data and its panels' inputs (drawn with `drawing`);
# `experiment` trains them; `analysis` is pure functions of frames (the task facts it needs
# come in as an argument); `report` renders analysis; the CLI sits on top.
LAYERS = (
    ("leaf", ("cell", "layer", "registry", "schema", "names", "errors", "validation", "searches",
              "convergence", "variants", "drawing", "grid", "min_gru")),
    ("families", ("families",)),
    ("analysis", ("analysis",)),
    ("experiment", ("experiment",)),
    ("report", ("report",)),
    ("map", ("decision_map", "tuning")),
    ("cli", ("__main__", "__init__")),
)  # fmt: skip
RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}
# Packages beside each other at one height in the picture that must not see each other:
# analysis reads the store's frames and never the engine that wrote them, and the report
# reads the store, never the engine (data flows config -> ... -> MLflow -> analysis -> report).
APART = {("analysis", "experiment"), ("experiment", "analysis"), ("report", "experiment"),
         ("analysis", "families")}  # fmt: skip


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            here, there = layer_of(name), layer_of(target)
            if here == there:
                continue
            if RANK[there] > RANK[here] or (here, there) in APART:
                found.append(f"{name} imports {target}")
    return found


def test_packages_import_one_way():
    modules = {layer_of(module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert modules <= set(RANK), f"place {modules - set(RANK)} in LAYERS"
    assert layering_violations(module_graph()) == []


def test_the_layering_check_sees_a_family_importing_the_report():
    graph = {"gru_keras.families.speech.task": {"gru_keras.report.plots"}}
    assert layering_violations(graph) == [
        "gru_keras.families.speech.task imports gru_keras.report.plots"
    ]
    assert layering_violations({"gru_keras.analysis.tables": {"gru_keras.families"}})
    assert layering_violations({"gru_keras.report.inputs": {"gru_keras.experiment.tracking"}})
    assert not layering_violations({"gru_keras.report.sections": {"gru_keras.analysis.claims"}})


def test_a_family_is_named_only_in_its_own_folder_and_the_family_list():
    """Adding a family touches one folder and one line: no other module names a family, one
    of its datasets or one of its tasks."""
    names = {family: {family} for family in FAMILIES}
    for family in FAMILIES.values():
        names[family.name] |= {spec.name for spec in family.datasets}
        names[family.name] |= {task.name for task in family.tasks}
    allowed = {PACKAGE / "families" / "__init__.py"}
    for path in PACKAGE.rglob("*.py"):
        if path in allowed:
            continue
        literals = {
            node.value
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        for family, words in names.items():
            if (PACKAGE / "families" / family) in path.parents:
                continue
            assert not literals & words, f"{path.relative_to(PACKAGE)} names {literals & words}"


def test_variant_ids_tags_and_metric_prefixes_come_from_the_schema():
    """Outside schema.py, no module writes a variant id, a tag read back, or the test_ prefix
    as a string of its own."""
    read_back = set(VARIANTS) | {
        schema.TAG_CONFIG_HASH,
        schema.TAG_KIND,
        schema.GRADIENT_FILE,
        schema.GATES_FILE,
        schema.KERAS_DEVIATION,
    }
    for path in PACKAGE.rglob("*.py"):
        if path.name == "schema.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in read_back, f"{path.relative_to(PACKAGE)}: {node.value!r}"
                # The prefix itself, as in f"test/{name}" or .removeprefix("test/").
                assert node.value != schema.TEST_PREFIX, f"{path.relative_to(PACKAGE)} builds it"


def test_every_registered_dataset_and_task_belongs_to_a_listed_family():
    assert {spec.name for family in FAMILIES.values() for spec in family.datasets} == set(DATASETS)
    assert {task.name for family in FAMILIES.values() for task in family.tasks} == set(TASKS)
    assert EXECUTORS == ("local", "ray")


def test_the_schema_version_enters_every_run_config(tmp_path, tiny_suite, monkeypatch):
    from gru_keras.experiment import identity
    from gru_keras.experiment.config import load_suite
    from gru_keras.experiment.identity import config_hash

    suite = load_suite(tiny_suite())
    dataset = suite.datasets[0]
    current = run_config(suite, dataset, "lstm", 0)
    assert current["schema_version"] == schema.SCHEMA_VERSION
    monkeypatch.setattr(identity, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    assert config_hash(run_config(suite, dataset, "lstm", 0)) != config_hash(current)


def test_names_are_built_one_way():
    assert schema.run_name("adding-T100", "lstm", 2) == "adding-T100__lstm__2"
    assert schema.as_test_metric("mse") == "test/mse"
    assert schema.metric_label("test/mse") == "mse"
    assert schema.epoch_metric("loss") == "train/loss"
    assert schema.epoch_metric("val_loss") == "val/loss"
