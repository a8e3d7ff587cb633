"""The DAG factory's configuration check: a bad dag_configs.yaml fails naming the file and the key."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

FACTORY_DIR = Path(__file__).resolve().parents[2] / "dags" / "factory"

VALID_ENTRY = """\
  - dag_id: factory_test
    description: A test DAG.
    schedule: "0 1 * * *"
    tables: [alpha, beta]
    tags: [factory]
"""


@pytest.fixture(scope="module")
def factory():
    """The dag_factory module, imported from its file (dags/ is a bundle, not a package)."""
    spec = importlib.util.spec_from_file_location("dag_factory_under_test", FACTORY_DIR / "dag_factory.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dag_configs.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_shipped_configuration_is_valid(factory):
    specs = factory.load_dag_configs(FACTORY_DIR / "dag_configs.yaml")
    assert [spec.dag_id for spec in specs] == [
        "factory_ingest_crm",
        "factory_ingest_billing",
        "factory_ingest_inventory",
    ]
    inventory = specs[2]
    assert inventory.schedule is None
    assert inventory.owner == "supply-chain-data"
    assert inventory.pool == "cpu_intensive"


def test_defaults_fill_optional_keys(factory, tmp_path):
    (spec,) = factory.load_dag_configs(write_config(tmp_path, "dags:\n" + VALID_ENTRY))
    assert spec == factory.DagSpec(
        dag_id="factory_test",
        description="A test DAG.",
        schedule="0 1 * * *",
        tables=("alpha", "beta"),
        tags=("factory",),
        owner="data-platform",
        retries=2,
        pool="default_pool",
    )


BAD_CONFIGS = {
    "not yaml": ("dags: [unclosed\n", "<file>"),
    "no dags key": ("other: 1\n", "dags"),
    "unknown top-level key": ("dags:\n" + VALID_ENTRY + "extra: 1\n", "extra"),
    "empty dags": ("dags: []\n", "dags"),
    "entry not a mapping": ("dags:\n  - just-a-string\n", "dags[0]"),
    "missing schedule": (
        "dags:\n" + VALID_ENTRY.replace('    schedule: "0 1 * * *"\n', ""),
        "dags[0].schedule",
    ),
    "misspelled key": ("dags:\n" + VALID_ENTRY + "    shedule: daily\n", "dags[0].shedule"),
    "invalid cron": ("dags:\n" + VALID_ENTRY.replace('"0 1 * * *"', '"61 * * * *"'), "dags[0].schedule"),
    "bad dag_id": ("dags:\n" + VALID_ENTRY.replace("factory_test", "Factory-Test"), "dags[0].dag_id"),
    "tables not a list": ("dags:\n" + VALID_ENTRY.replace("[alpha, beta]", "alpha"), "dags[0].tables"),
    "bad table name": (
        "dags:\n" + VALID_ENTRY.replace("[alpha, beta]", "[alpha, 'b c']"),
        "dags[0].tables[1]",
    ),
    "duplicate tables": (
        "dags:\n" + VALID_ENTRY.replace("[alpha, beta]", "[alpha, alpha]"),
        "dags[0].tables",
    ),
    "no tags": ("dags:\n" + VALID_ENTRY.replace("[factory]", "[]"), "dags[0].tags"),
    "owner airflow": ("dags:\n" + VALID_ENTRY + "    owner: airflow\n", "dags[0].owner"),
    "too few retries": ("dags:\n" + VALID_ENTRY + "    retries: 1\n", "dags[0].retries"),
    "retries not int": ("dags:\n" + VALID_ENTRY + "    retries: many\n", "dags[0].retries"),
    "empty pool": ("dags:\n" + VALID_ENTRY + "    pool: ''\n", "dags[0].pool"),
    "duplicate dag_id": ("dags:\n" + VALID_ENTRY + VALID_ENTRY, "dags[1].dag_id"),
}


@pytest.mark.parametrize(("text", "key"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_bad_config_names_the_file_and_the_key(factory, tmp_path, text, key):
    path = write_config(tmp_path, text)
    with pytest.raises(factory.DagConfigError) as caught:
        factory.load_dag_configs(path)
    assert caught.value.key == key
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_the_dag_processor_reports_the_file_and_key(tmp_path):
    """Copied next to a broken configuration, the factory fails the parse with a readable import error."""
    from airflow.dag_processing.dagbag import DagBag

    shutil.copy(FACTORY_DIR / "dag_factory.py", tmp_path / "dag_factory.py")
    config = write_config(tmp_path, "dags:\n" + VALID_ENTRY.replace("[alpha, beta]", "[]"))
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert f"DagConfigError: {config}: dags[0].tables: must be a non-empty list of strings" in error
