"""An account as Parquet: `crmkit export --parquet` writes every table, and every metric computed
on that folder (`--db FOLDER`: views over the files) equals the same metric on the database file;
canonical tables given as Parquet load exactly as the same tables given as CSV."""

import inspect

import duckdb
import pandas as pd
import pytest

from crmkit import metrics, sample
from crmkit.cli import main
from crmkit.db import connect
from crmkit.importers import load

AS_OF = "2026-11-01"


def _every_metric(con, adoption) -> dict[str, pd.DataFrame]:
    tables = {}
    for name, (func, _) in sorted(metrics.REGISTRY.items()):
        options = {"adoption": str(adoption)} if "adoption" in inspect.signature(func).parameters else {}
        tables[name] = metrics.compute(name, con, as_of=AS_OF, **options)
    return tables


def test_every_metric_on_the_parquet_folder_equals_the_database(sample_db, tmp_path):
    folder = tmp_path / "parquet"
    assert main(["export", "--db", str(sample_db), "--parquet", str(folder)]) == 0
    assert {p.name for p in folder.iterdir()} >= {"deals.parquet", "stage_changes.parquet", "loads.parquet"}
    adoption = sample_db.parent / "adoption.yml"
    on_file, on_parquet = connect(sample_db, read_only=True), connect(folder, read_only=True)
    expected, got = _every_metric(on_file, adoption), _every_metric(on_parquet, adoption)
    assert len(expected) >= 37
    for name, table in expected.items():
        pd.testing.assert_frame_equal(got[name], table, obj=name)
    out = tmp_path / "reports"  # a report reads the folder as it reads a database file
    command = ["report", "--db", str(folder), "--month", "2026-10", "--notebooks", "00", "--out", str(out)]
    assert main(command) == 0
    assert "3,002" in (out / "2026-10" / "00_data_audit.html").read_text(encoding="utf-8")  # the deals


def test_canonical_parquet_loads_as_the_csv_does(tmp_path):
    """The sample written as CSV, and the same files as typed Parquet (dates as timestamps, ids and
    amounts as numbers, as a warehouse would write them): the same rows in every table."""
    csv_dir, parquet_dir = tmp_path / "csv", tmp_path / "parquet"
    sample.write(sample.generate(300), csv_dir)
    parquet_dir.mkdir()
    con = duckdb.connect()
    for file in csv_dir.glob("*.csv"):
        quoted = str(parquet_dir / f"{file.stem}.parquet")
        con.execute(f"copy (select * from read_csv('{file}')) to '{quoted}' (format parquet)")
    con.close()
    counts = {}
    for source in (csv_dir, parquet_dir):
        db = connect(tmp_path / f"{source.name}.duckdb")
        results = load(db, [source])
        assert all(r.rows_read == r.rows_loaded + r.rows_rejected for r in results)
        counts[source.name] = {
            table: db.execute(f"select * from main.{table} order by all").df()
            for table in ("deals", "stage_changes", "activities", "users", "plans")
        }
        db.close()
    for table, frame in counts["csv"].items():
        pd.testing.assert_frame_equal(counts["parquet"][table], frame, obj=table)


def test_a_folder_without_parquet_is_refused_with_what_to_give(tmp_path):
    from crmkit.errors import CrmkitError

    with pytest.raises(CrmkitError, match="without deals.parquet"):
        connect(tmp_path, read_only=True)
