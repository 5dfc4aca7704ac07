"""Importers: one module per source format, each only *stages* its files (see `base`).

`load` is the one entry point: it stages, stores every file in load order (validation, merge by
key, loads/rejects accounting) and derives status and synthetic history at the end — all in one
transaction, so a load that fails leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path

from crmkit.contract import LOAD_ORDER
from crmkit.db import limit_memory
from crmkit.errors import CrmkitError
from crmkit.importers import (
    amocrm,
    bitrix24,
    canonical,
    files,
    hubspot,
    mapping,
    pipedrive,
    rates,
    salesforce,
)
from crmkit.importers.base import LoadResult, ReadOptions, finalize, store
from crmkit.paths import PULL_MOMENT

# Named formats, in the order auto-detection asks them (each answers only for its own files).
NAMED = (salesforce, amocrm, bitrix24, hubspot, pipedrive)
FORMATS = {module.FORMAT: module for module in (canonical, *NAMED)}
FORMAT_NAMES = ("auto", *FORMATS, mapping.FORMAT)


EXPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".json", ".parquet")  # what a load reads


def expand(paths: list[Path]) -> list[Path]:
    """The files given, with directories replaced by the export files in them."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".json", ".parquet")
            )
        elif not path.exists():
            raise CrmkitError(f"file not found: {path}")
        elif path.suffix.lower() not in EXPORT_SUFFIXES:
            raise CrmkitError(
                f"{path.name}: not a CSV, XLSX, JSON or Parquet file; export the data as one of these"
            )
        else:
            files.append(path)
    return files


def pulls_of(folder: Path) -> list[Path] | None:
    """A CRM's raw folder: its complete pulls (folders named by `PULL_MOMENT`), oldest first (the
    full pull, then each one that asked for changes); None for any other folder. The cursor and an
    unfinished `.partial/` are not pulls."""
    if not folder.is_dir():
        return None
    pulls = sorted(p for p in folder.iterdir() if p.is_dir() and pull_began(p) is not None)
    return pulls or None


def pull_began(folder: Path) -> int | None:
    """When a pull folder's pull began (its name, less a "-2" for a second pull in that second),
    as Unix seconds; None for a folder not so named."""
    from datetime import UTC, datetime

    base, _, number = folder.name.rpartition("-")
    name = base if number.isdigit() and base.endswith("Z") else folder.name
    try:
        began = datetime.strptime(name, PULL_MOMENT)
    except ValueError:
        return None
    return int(began.replace(tzinfo=UTC).timestamp())


# crmkit's own tables in a folder of `crmkit export --parquet`: a history of its loads, not data to load
BOOKKEEPING = ("loads.parquet", "rejects.parquet", "load_notes.parquet")


def detect(paths: list[Path]) -> str:
    """The format of the files: a named CRM's when its files say so, else the canonical layout."""
    files = [p for p in expand(paths) if p.name not in BOOKKEEPING]
    for module in NAMED:
        if module.looks_like(files):
            return module.FORMAT
    if files and all(canonical.is_table_file(p) for p in files):
        return canonical.FORMAT
    raise CrmkitError(
        f"cannot tell the format of {', '.join(p.name for p in files) or 'no files'}: "
        "expected a Salesforce export (Opportunity.csv), an amoCRM export (columns «ID», «Этап сделки» "
        "or API JSON with _embedded leads), Bitrix24 REST JSON (crm.deal.list …), a HubSpot deals export "
        "(Record ID, Deal Stage), a Pipedrive deals export (Deal - ID, Deal - Stage) or canonical "
        "<table>.csv or <table>.parquet files; name the format with --format, or describe the file "
        "with --mapping"
    )


def check_same_account(con, staged: list) -> None:
    """Refuse to mix a second account into a database that holds one: files that share no
    pipeline and no deal with what is stored are another CRM's (Maven loaded into the sample)."""
    held = con.execute("select count(*) from main.deals").fetchone()[0]
    pipelines = [s.relation for s in staged if s.table == "pipelines"]
    deals = [s.relation for s in staged if s.table == "deals" and not s.accounting_only]
    if not held or not pipelines:
        return
    new = " union ".join(f"select pipeline_id::varchar as pipeline_id from {r}" for r in pipelines)
    shared = con.execute(
        f"select count(*) from ({new}) where pipeline_id in (select pipeline_id from main.pipelines)"
    ).fetchone()[0]
    if shared or any(
        con.execute(
            f"select 1 from {r} where deal_id::varchar in (select deal_id from main.deals) limit 1"
        ).fetchone()
        for r in deals
    ):
        return
    names = [n for (n,) in con.execute("select name from main.pipelines order by name limit 3").fetchall()]
    raise CrmkitError(
        f"the database already holds another account ({held:,} deals; pipelines {', '.join(names)}), and "
        "these files share no pipeline or deal with it: load them into a database of their own "
        "(--db another.duckdb), or add --append to keep both accounts in one"
    )


def failure_message(failed: list[LoadResult], fmt: str) -> str:
    """Why a load was refused: each file whose rows were mostly rejected, with its reasons
    grouped (the values left out, one example each) and what to do."""
    lines = []
    for r in failed:
        lines.append(
            f"{r.file.name} [{r.table}]: {r.rows_failed:,} of {r.rows_read:,} rows rejected, "
            "so nothing was loaded"
        )
        for kind, count, example in r.top_reasons:
            shown = f" (e.g. {example})" if example != kind else ""
            lines.append(f"    {count:,} × {kind}{shown}")
    hint = (
        "fix the mapping (a column, date_formats, decimal) or the file and load again"
        if fmt == "mapping"
        else "check that the files are the export named by --format, or describe them with --mapping"
    )
    return "\n".join(lines) + f"\n  the database is unchanged; {hint}"


def load(
    con,
    paths: list[str | Path],
    *,
    fmt: str = "auto",
    mapping_file: str | Path | None = None,
    time_zone: str = "UTC",
    force: bool = False,
    rates_file: str | Path | None = None,
    encoding: str | None = None,
    append: bool = False,
) -> list[LoadResult]:
    """Load export files into the canonical tables of `con`, and a currency rates file if given;
    return one result per file and table. Nothing is kept unless everything loads (one
    transaction)."""
    files.force_encoding(encoding)
    limit_memory(con)
    try:
        return _load(con, [Path(p) for p in paths], fmt, mapping_file, time_zone, force, rates_file, append)
    finally:
        files.force_encoding(None)
        con.execute("reset memory_limit")  # the limit is the load's, not the queries' after it


class Loaded(list):
    """The results of a load, one per file and table, and the files given that no reader took
    (`not_read`: path → why), which a load names rather than skip in silence."""

    not_read: dict[Path, str]


def not_read(paths: list[Path], staged: list, fmt: str) -> dict[Path, str]:
    """Every file (and folder) in the folders given that no staged relation reads, with why."""
    taken = {Path(item.file).resolve() for item in staged}
    found = {}
    for folder in (p for p in paths if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name in BOOKKEEPING or path.resolve() in taken:
                continue
            if path.name == "adoption.yml":
                found[path] = "the adoption description: report 04 reads it, a load does not"
            elif path.is_dir():
                found[path] = "a folder: the files in it are not read (give it to load on its own)"
            elif path.suffix.lower() not in EXPORT_SUFFIXES:
                found[path] = "not a CSV, XLSX, JSON or Parquet file"
            else:
                found[path] = f"not a file of the {fmt} export that crmkit reads"
    return found


def _load(con, paths, fmt, mapping_file, time_zone, force, rates_file, append) -> list[LoadResult]:
    if not paths and mapping_file is None:
        if rates_file is None:
            raise CrmkitError("nothing to load: give export files or folders (or --rates FILE)")
        fmt = "rates"
    elif fmt == "auto":
        fmt = "mapping" if mapping_file else detect(paths)
    if fmt not in FORMATS and fmt not in ("mapping", "rates"):
        raise CrmkitError(f"unknown format {fmt!r}; one of {', '.join(FORMAT_NAMES)}")
    con.execute("begin transaction")
    try:
        if fmt == "mapping":
            if mapping_file is None:
                raise CrmkitError("format 'mapping' needs a mapping file (--mapping FILE.yml)")
            spec = mapping.Mapping(mapping_file)
            options, source_format = spec.options, spec.source_format
            staged = mapping.stage(con, paths, mapping=Path(mapping_file))
        elif fmt == "rates":
            options, source_format, staged = ReadOptions(time_zone=time_zone), "rates", []
        else:
            options, source_format = ReadOptions(time_zone=time_zone), fmt
            module = FORMATS[fmt]
            staged = module.stage(con, expand(paths) if module is not canonical else paths, options)
        if rates_file is not None:
            staged.append(rates.stage(con, Path(rates_file)))
        staged.sort(key=lambda item: LOAD_ORDER.index(item.table))  # referenced tables first
        if not append:
            check_same_account(con, staged)
        results = [
            store(con, item, source_format=source_format, options=options, force=force) for item in staged
        ]
        failed = [r for r in results if r.mostly_failed]
        if failed:
            raise CrmkitError(failure_message(failed, fmt))
        if any(r.load_id is not None for r in results):  # nothing new: nothing to derive again
            finalize(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    loaded = Loaded(results)
    loaded.not_read = not_read(paths, staged, fmt)
    return loaded
