"""Shared fixtures: tiny canonical CSV databases built from text, the sample database, and
the real public data in ../shared/data (tests using it skip when it is absent)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crmkit import sample
from crmkit.db import connect
from crmkit.importers import load
from crmkit.paths import PROJECT_ROOT, SAMPLE_DB

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def write_tables(folder: Path, tables: dict[str, str]) -> Path:
    """Write `<table>.csv` files from dedented CSV text."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


@pytest.fixture
def make_db(tmp_path):
    """Build a database from canonical CSV text: make_db({"deals": "...", ...})."""

    def build(tables: dict[str, str], name: str = "crm.duckdb", **load_options):
        folder = write_tables(tmp_path / f"csv_{name}", tables)
        con = connect(tmp_path / name)
        results = load(con, [folder], **load_options)
        return con, results

    return build


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The embedded sample (3,000 deals) loaded into a fresh database, laid out as `make report`
    lays out data/sample/: the CSV files, adoption.yml and crm.duckdb side by side."""
    root = tmp_path_factory.mktemp("sample")
    sample.write(sample.generate(3000), root)
    con = connect(root / "crm.duckdb")
    load(con, [root])
    con.close()
    return root / "crm.duckdb"


@pytest.fixture(scope="session")
def default_db(sample_db) -> Path:
    """data/sample/crm.duckdb, the notebooks' default, built from the sample when it is missing
    (never data/crm.duckdb: that is the user's own)."""
    if not SAMPLE_DB.exists():
        SAMPLE_DB.parent.mkdir(parents=True, exist_ok=True)
        SAMPLE_DB.write_bytes(sample_db.read_bytes())
    if not (SAMPLE_DB.parent / "adoption.yml").exists():
        sample.write_adoption(SAMPLE_DB.parent)
    return SAMPLE_DB


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not present at {SHARED_DATA} (only in the project's workspace)")
    return SHARED_DATA
