"""The canonical layout: one `<table>.csv` (or `<table>.parquet`) per canonical table, headers =
column names.

This is what `crmkit sample` writes (and `crmkit export --parquet`), and the simplest target for a
hand-made export. Any subset of the tables may be present; a directory is read in load order
(pipelines first).
"""

from __future__ import annotations

from pathlib import Path

from crmkit.contract import LOAD_ORDER, TABLES
from crmkit.errors import CrmkitError
from crmkit.importers.base import ReadOptions, Staged, check_columns, quote_ident
from crmkit.importers.files import read_text_table

FORMAT = "csv"


SUFFIXES = (".csv", ".parquet")


def is_table_file(path: Path) -> bool:
    return path.stem in TABLES and path.suffix.lower() in SUFFIXES


def looks_like(paths: list[Path]) -> bool:
    return bool(paths) and all(is_table_file(p) for p in paths)


def table_files(paths: list[Path]) -> dict[str, list[Path]]:
    """`<table>.csv` files among `paths` (files or directories), by canonical table, in the order
    given: two files of one table (two exports' deals.csv) are both loaded, the later one
    updating what the earlier gave for the same key."""
    found: dict[str, list[Path]] = {}
    for path in paths:
        candidates = [path]
        if path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        for file in candidates:
            if file.stem in TABLES:
                found.setdefault(file.stem, []).append(file)
            elif not path.is_dir():
                raise CrmkitError(
                    f"{file.name}: not a canonical table file; expected one of "
                    f"{', '.join(t + '.csv' for t in LOAD_ORDER)} or .parquet (or use a mapping file)"
                )
    if not found:
        raise CrmkitError(
            f"no canonical table files in {', '.join(map(str, paths))}; expected "
            f"{', '.join(t + '.csv' for t in LOAD_ORDER)}"
        )
    return found


def stage(con, paths: list[Path], options: ReadOptions) -> list[Staged]:
    files = table_files(paths)
    staged = []
    for name in LOAD_ORDER:
        for file in files.get(name, []):
            table, raw = TABLES[name], read_text_table(con, file, decimal=options.decimal)
            check_columns(raw.columns, table, raw.path)
            select = ", ".join(
                f"{quote_ident(c)}" if c in raw.columns else f"null::varchar as {quote_ident(c)}"
                for c in table.column_names
            )
            view = f"{raw.relation}_{name}"
            con.execute(
                f"create or replace temp view {view} as select _row, _raw, {select} from {raw.relation}"
            )
            staged.append(Staged(name, raw.path, view, raw.rows_read, raw.broken_rows))
    return staged
