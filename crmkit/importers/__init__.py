"""Importers: one module per source format, each only *stages* its files (see `base`).

`load` is the one entry point: it stages, stores every file in load order (validation, merge by
key, loads/rejects accounting) and derives status and synthetic history at the end.
"""

from __future__ import annotations

from pathlib import Path

from crmkit.errors import CrmkitError
from crmkit.importers import canonical, mapping, salesforce
from crmkit.importers.base import LoadResult, ReadOptions, finalize, store

FORMATS = {canonical.FORMAT: canonical, mapping.FORMAT: mapping, salesforce.FORMAT: salesforce}


def load(
    con,
    paths: list[str | Path],
    *,
    fmt: str = "auto",
    mapping_file: str | Path | None = None,
    time_zone: str = "UTC",
    force: bool = False,
) -> list[LoadResult]:
    """Load export files into the canonical tables of `con`; return one result per file."""
    paths = [Path(p) for p in paths]
    if fmt == "auto":  # a mapping when given one, a Salesforce export when it looks like one
        fmt = "mapping" if mapping_file else "salesforce" if salesforce.looks_like(paths) else "csv"
    if fmt == "mapping":
        if mapping_file is None:
            raise CrmkitError("format 'mapping' needs a mapping file (--mapping FILE.yml)")
        spec = mapping.Mapping(mapping_file)
        options = spec.options
        staged = mapping.stage(con, paths, mapping=Path(mapping_file))
        source_format = spec.source_format
    else:
        options = ReadOptions(time_zone=time_zone)
        staged = FORMATS[fmt].stage(con, paths, options)
        source_format = fmt
    results = [store(con, item, source_format=source_format, options=options, force=force) for item in staged]
    finalize(con)
    return results
