"""Opening the database and the SQL that lives in `crmkit/sql/`.

Views are created as temporary objects on every connection, so a read-only connection (the
notebooks') gets them too and a database file never carries stale definitions. A view file whose
first line is `-- params: a, b` becomes a table macro: a view that takes parameters (`as_of`); one
whose first line is `-- scalar: a, b` is a scalar macro (an expression, e.g. `local_time`).
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
import weakref
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from crmkit.errors import CrmkitError

_SQL = resources.files("crmkit") / "sql"
_PARAMS = re.compile(r"^--\s*(params|scalar):\s*(.+)$", re.MULTILINE)
# Views that read other views come after them; file names sort into that order.
_VIEW_ORDER = (
    "local_time", "pipelines_named", "owners_named", "stage_change_spans", "deals_at", "deals_in_scope",
    "deals_in_pipeline", "activities_in_scope", "stage_moves_in_scope", "weekly_activities", "weekly_deals",
    "weekly_stage_moves", "stage_visit_sequence", "deal_stage_intervals", "stage_visits_in_scope",
    "open_stage_visits", "funnel_stages",
)  # fmt: skip


@cache
def sql_text(name: str) -> str:
    """The text of `crmkit/sql/<name>.sql` (e.g. ``"metrics/won_deals"``)."""
    return (_SQL / f"{name}.sql").read_text(encoding="utf-8")


def schema_sql() -> str:
    return (resources.files("crmkit") / "schema.sql").read_text(encoding="utf-8")


def connect(db_path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the crmkit database, creating the schema when writable, with every view defined."""
    db_path = Path(db_path)
    if db_path.suffix.lower() in (".csv", ".xlsx", ".xls", ".json", ".parquet", ".txt", ".yml", ".yaml"):
        raise CrmkitError(
            f"--db {db_path.name}: that names an export or a text file; --db is the crmkit database "
            "file, e.g. data/crm.duckdb (give exports as the files to load)"
        )
    if db_path.is_dir() and read_only and is_parquet_account(db_path):
        return _connect_parquet(db_path)
    if db_path.is_dir():
        raise CrmkitError(
            f"--db {db_path}: a folder without deals.parquet; --db is the database file, e.g. "
            f"{db_path / 'crm.duckdb'}, or a folder written by `crmkit export --parquet`"
        )
    if db_path.exists() and db_path.stat().st_size and not _is_duckdb(db_path):
        raise CrmkitError(f"cannot open {db_path}: not a DuckDB database file (crmkit's database is one)")
    if read_only and not db_path.exists():
        raise CrmkitError(
            f"database {db_path} does not exist: build it with `crmkit load` "
            "(or `make report` for the sample)"
        )
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.Error as exc:
        raise CrmkitError(f"cannot open {db_path}: {str(exc).splitlines()[0]}") from exc
    if not read_only:
        con.execute(schema_sql())
    found = _columns(con)  # read once: both checks below go by it
    _same_schema(con, db_path, found)
    _bookkeeping_of_later_versions(con, found)
    define_views(con)
    if read_only:
        _FROZEN.add(con)
    return con


@cache
def _schema_columns() -> dict[str, frozenset[str]]:
    """The columns of each canonical table, as this version of crmkit creates them."""
    con = duckdb.connect()
    con.execute(schema_sql())
    return _columns(con)


def _columns(con) -> dict[str, frozenset[str]]:
    rows = con.execute(
        "select table_name, list(column_name) from information_schema.columns "
        "where table_schema = 'main' and table_catalog = current_database() group by table_name"
    ).fetchall()
    return {table: frozenset(names) for table, names in rows}


# Bookkeeping tables added after a release: a database opened read-only from before has them
# empty (a temporary table of the same shape), not refused; a load adds them for good.
LATER_TABLES = ("load_notes",)


def _bookkeeping_of_later_versions(con, found: dict[str, frozenset[str]]) -> None:
    for table in LATER_TABLES:
        if table not in found:
            definition = re.search(
                rf"create table if not exists {table} \((.*?)\n\);", schema_sql(), flags=re.S
            ).group(1)
            con.execute(f"create temp table {table} ({definition})")


def _same_schema(con, db_path: Path, found: dict[str, frozenset[str]]) -> None:
    """A database another crmkit version wrote is named as such, not met with a binder error."""
    expected = _schema_columns()
    lacking = {table: sorted(columns - found[table]) for table, columns in expected.items() if table in found}
    problems = [f"its table {t} lacks {', '.join(cols[:3])}" for t, cols in lacking.items() if cols]
    problems += [
        f"it has no table {table}" for table in expected if table not in found and table not in LATER_TABLES
    ]
    if problems:
        con.close()
        raise CrmkitError(
            f"{db_path}: made by another version of crmkit ({problems[0]}); rebuild it: move it aside "
            "and `crmkit load` the exports into a new database"
        )


def schema_tables() -> list[str]:
    """The canonical tables, in the order schema.sql creates them."""
    return re.findall(r"^create table if not exists (\w+)", schema_sql(), flags=re.M)


def is_parquet_account(folder: Path) -> bool:
    return (folder / "deals.parquet").exists() or (folder / "deals").is_dir()


def _parquet_source(folder: Path, table: str) -> str | None:
    """The Parquet behind a table: `<table>.parquet`, or a folder `<table>/` of parts."""
    if (folder / f"{table}.parquet").exists():
        return str(folder / f"{table}.parquet")
    if (folder / table).is_dir():
        return str(folder / table / "*.parquet")
    return None


def _connect_parquet(folder: Path) -> duckdb.DuckDBPyConnection:
    """An account kept as Parquet (a folder of canonical tables, `crmkit export --parquet`): an
    in-memory DuckDB whose tables are views over the files, so every metric reads them as it reads
    a database file, scanning the files (not holding them) and spilling to disk beyond its memory."""
    spill = Path(tempfile.gettempdir()) / "crmkit-spill"
    con = duckdb.connect(config={"temp_directory": str(spill)})
    con.execute(schema_sql())
    for table in schema_tables():
        source = _parquet_source(folder, table)
        if source is None:
            continue  # a table the account does not have stays empty
        try:
            con.execute(f"drop table {table}")
            quoted = source.replace("'", "''")
            con.execute(f"create view {table} as select * from read_parquet('{quoted}')")
        except duckdb.Error as exc:
            raise CrmkitError(f"{source}: cannot read as Parquet ({str(exc).splitlines()[0]})") from exc
    define_views(con)
    _FROZEN.add(con)  # views over files this connection never writes
    return con


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Every canonical table (the loads and rejects too) as `<table>.parquet` in `folder`, zstd;
    written beside and renamed, so a reader never sees half a file. Returns rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for table in schema_tables():
        target, partial = folder / f"{table}.parquet", folder / f".{table}.parquet.partial"
        quoted = str(partial).replace("'", "''")
        con.execute(f"copy (select * from {table}) to '{quoted}' (format parquet, compression zstd)")
        partial.replace(target)
        written[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
    return written


# What a load, or a report's pinned connection, may hold in memory (DuckDB's part) before DuckDB
# spills to disk (a load beside the database, <db>.tmp; a report in the temporary folder): a
# million deals load in about 3 GB of memory instead of 11, a quarter slower; without a limit
# DuckDB takes up to 80% of the machine, and three million deals were killed at 20 GB.
# CRMKIT_MEMORY_LIMIT sets another (e.g. 8GB), or "none" for DuckDB's own.
LOAD_MEMORY_LIMIT = "2.5GB"


def limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    limit = os.environ.get("CRMKIT_MEMORY_LIMIT", LOAD_MEMORY_LIMIT).strip()
    if limit.lower() in ("", "none"):
        return
    try:
        con.execute(f"set memory_limit = '{limit}'")
    except duckdb.Error as exc:
        raise CrmkitError(
            f"CRMKIT_MEMORY_LIMIT={limit!r}: DuckDB cannot use it ({str(exc).splitlines()[0]}); "
            "give a size such as 4GB or 800MB, or none"
        ) from exc


def _is_duckdb(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(12)[8:12] == b"DUCK"  # DuckDB's magic bytes


def define_views(con: duckdb.DuckDBPyConnection) -> None:
    for name in _VIEW_ORDER:
        body = sql_text(f"views/{name}")
        params = _PARAMS.search(body)
        if params and params.group(1) == "scalar":
            expression = "\n".join(line for line in body.splitlines() if not line.startswith("--"))
            con.execute(f"create or replace temp macro {name}({params.group(2)}) as ({expression})")
        elif params:
            con.execute(f"create or replace temp macro {name}({params.group(2)}) as table ({body})")
        else:
            con.execute(f"create or replace temp view {name} as ({body})")


def query(con: duckdb.DuckDBPyConnection, name: str, *, columns: tuple[str, ...] = (), **params):
    """Run `crmkit/sql/<name>.sql` with named parameters (``$as_of`` …) and return a DataFrame,
    only `columns` of it when given (a million rows cost memory per column fetched)."""
    text = sql_text(name)
    used = {k: v for k, v in params.items() if f"${k}" in text}
    if "as_of" in used:
        _materialize_for(con, text, used["as_of"])
    if columns:
        text = f"select {', '.join(columns)} from ({text})"
    with warnings.catch_warnings():  # DuckDB warns that a DB-API result's Arrow is a copy: it is cheap
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        return frame(con.execute(text, used).to_arrow_table())


def frame(table: pa.Table) -> pd.DataFrame:
    """A query's rows as pandas, through Arrow: text columns arrive as pandas' Arrow-backed
    strings without a Python object per value (DuckDB's own .df() makes those objects, then
    pandas converts them back: 4 s instead of 1 s for two million stage visits). Types as .df()
    gives them: decimals and dates as float and datetime, a nullable dtype only where a value is
    missing."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        elif pa.types.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        if column.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
            columns[name] = pd.Series(column.to_pandas(types_mapper=_NULLABLE.get))
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


_NULLABLE = {
    pa.bool_(): pd.BooleanDtype(), pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
}  # fmt: skip


# Pinning. Every metric reads the account as it stood at an as_of through deals_at (each deal's
# status, money and lifetime) and deal_stage_intervals (each stage visit), which cut two as_of-free
# sequences at as_of: stage_change_spans (the real change in force when) and stage_visit_sequence
# (the visits in order, with the change that ended each). Deriving those is most of a metric's
# cost at a million deals, and a report asks for them a dozen times. A connection that cannot
# change the data (read-only, or Parquet) can be pinned to the report's as_of: each sequence is
# then computed once, at its first use, into a temporary table that serves every as_of (the
# backtest's six dates each cost a cut, not a derivation), and deals_at at the pinned as_of too,
# its macro serving that table for that as_of (DuckDB folds the other branch away) and cutting
# the sequence for any other. A cut of the visits is a scan: it is not kept.
PINNABLE = ("stage_change_spans", "stage_visit_sequence", "deals_at")


@dataclass
class _Pin:
    as_of: pd.Timestamp
    built: set[str] = field(default_factory=set)


_PINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FROZEN: weakref.WeakSet = weakref.WeakSet()  # connections that cannot change the data


def pin(con: duckdb.DuckDBPyConnection, as_of) -> None:
    """Serve the stage sequences, and deals_at at `as_of`, from tables built once, on a
    connection that cannot change the data (on another, a no-op: its views stay live)."""
    if con not in _FROZEN:
        return
    as_of = pd.Timestamp(as_of)
    current = _PINS.get(con)
    if current is not None and current.as_of == as_of:
        return
    if current is not None:
        define_views(con)  # back to live views; a new pin builds afresh
        for view in current.built:
            con.execute(f"drop table if exists pinned_{view}")
    else:  # the pinned tables grow with the account: beyond the memory limit they go to disk
        limit_memory(con)
        spill = str(Path(tempfile.gettempdir()) / "crmkit-spill").replace("'", "''")
        con.execute(f"set temp_directory = '{spill}'")
    _PINS[con] = _Pin(as_of)


@cache
def _reaches() -> dict[str, set[str]]:
    """For every view, the pinnable views it reads, directly or through other views."""
    reaches: dict[str, set[str]] = {}
    for name in _VIEW_ORDER:  # in dependency order: what a view reads is already known
        body = sql_text(f"views/{name}")
        reaches[name] = {v for v in PINNABLE if v == name}
        for other in _VIEW_ORDER[: _VIEW_ORDER.index(name)]:
            if re.search(rf"\b{other}\b", body):
                reaches[name] |= reaches[other]
    return reaches


def build_pins(con: duckdb.DuckDBPyConnection) -> None:
    """Build the pinned tables now rather than at first use (a benchmark times them apart)."""
    current = _PINS.get(con)
    if current is not None:
        _materialize_for(con, " ".join(f"{view}(" for view in PINNABLE), current.as_of)


def _materialize_for(con: duckdb.DuckDBPyConnection, text: str, as_of) -> None:
    """Build the pinned tables `text` reads and has not built yet: the sequences at any as_of,
    the as_of views only at the pinned one."""
    current = _PINS.get(con)
    if current is None:
        return
    needed = set().union(*(_reaches()[v] for v in _VIEW_ORDER if re.search(rf"\b{v}\b", text)))
    at_pin = pd.Timestamp(as_of) == current.as_of
    for view in PINNABLE:  # in order: a sequence before the views that cut it
        if view not in needed or view in current.built:
            continue
        body = sql_text(f"views/{view}")
        if not _PARAMS.search(body):  # as_of-free: the same table for every date
            con.execute(f"create temp table pinned_{view} as select * from {view}")
            con.execute(f"create or replace temp view {view} as select * from pinned_{view}")
        elif at_pin:
            stamp = f"timestamp '{current.as_of:%Y-%m-%d %H:%M:%S.%f}'"
            con.execute(f"create or replace temp macro live_{view}(as_of) as table ({body})")
            con.execute(f"create temp table pinned_{view} as select * from live_{view}({stamp})")
            con.execute(
                f"create or replace temp macro {view}(as_of) as table ("
                f"select * from pinned_{view} where as_of::timestamp = {stamp} "
                f"union all by name "
                f"select * from live_{view}(as_of) where as_of::timestamp is distinct from {stamp})"
            )
        else:
            continue
        current.built.add(view)
