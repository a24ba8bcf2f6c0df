"""The run schema and the package's shape: one module names what is read back, families are
self-contained folders, and no module imports another in a cycle."""

import ast
from pathlib import Path

import pytest

from gru_keras import schema
from gru_keras.experiment.executors import EXECUTORS
from gru_keras.experiment.identity import run_config
from gru_keras.families import DATASETS, FAMILIES, TASKS
from gru_keras.variants import VARIANTS

PACKAGE = Path(__file__).resolve().parents[1] / "gru_keras"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(tree: ast.AST):
    """Every node, except those under `if TYPE_CHECKING:` (imported for annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            continue
        yield node
        yield from runtime_nodes(node)


def imports_of(path: Path) -> set[str]:
    """The package modules a module imports at run time, at any depth (inside functions too)."""
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gru_keras"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gru_keras"))
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {target for target in imports_of(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_no_module_imports_another_in_a_cycle():
    graph = module_graph()
    # A package's __init__ re-exporting its children is not a cycle of modules.
    graph = {
        name: {t for t in targets if not (name.startswith(t + ".") and t in graph)}
        for name, targets in graph.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


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


def test_the_readme_documents_every_metric_group():
    readme = (PACKAGE.parent / "README.md").read_text()
    for group in schema.METRIC_GROUPS:
        assert f"`{group}/`" in readme, group
    assert f"`{schema.HEADLINE}`" in readme
