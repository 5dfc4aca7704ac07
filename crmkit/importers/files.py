"""Reading export files as text: CSV (any delimiter, UTF-8 or cp1251) and XLSX, row by row,
without losing a row: a line the CSV parser cannot split becomes a reject, not a gap."""

from __future__ import annotations

import codecs
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from crmkit.errors import CrmkitError

_counter = itertools.count()


@dataclass
class RawFile:
    """A file read as text: a relation with its header's columns, `_row` and `_raw`."""

    path: Path
    relation: str
    columns: list[str]
    rows_read: int
    # Rows the parser could not split into the header's columns: (row, reason, raw text)
    broken_rows: list[tuple[int, str, str]] = field(default_factory=list)


def _utf8_path(path: Path) -> Path:
    """The file itself when it is UTF-8; otherwise a UTF-8 copy decoded from cp1251."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        return path
    except UnicodeDecodeError:
        pass
    text = path.read_bytes().decode("cp1251")  # the usual non-UTF-8 export of Russian CRMs
    copy = Path(tempfile.mkdtemp(prefix="crmkit-")) / path.name
    copy.write_text(text, encoding="utf-8")
    return copy


def read_text_table(con: duckdb.DuckDBPyConnection, path: Path, *, decimal: str = ".") -> RawFile:
    path = Path(path)
    if not path.exists():
        raise CrmkitError(f"file not found: {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(con, path, decimal)
    return _read_csv(con, path)


def _read_csv(con, path: Path) -> RawFile:
    n = next(_counter)
    source, errors = f"_src_{n}", f"_broken_{n}"
    readable = _utf8_path(path)
    try:
        con.execute(
            f"create or replace temp table {source} as select * from read_csv(?, all_varchar = true, "
            f"header = true, store_rejects = true, rejects_table = '{errors}', "
            f"rejects_scan = '{errors}_scan')",
            [str(readable)],
        )
    except duckdb.Error as exc:
        raise CrmkitError(f"{path.name}: cannot read as CSV: {exc}") from exc
    columns = [c[0] for c in con.execute(f"select * from {source} limit 0").description]
    broken = con.execute(
        f"select line - 1, min(error_message), min(csv_line) from {errors} group by line order by line"
    ).fetchall()  # one reject per line, though the parser may report a line more than once
    con.execute(f"drop table if exists {errors}; drop table if exists {errors}_scan")
    accepted = con.execute(f"select count(*) from {source}").fetchone()[0]
    total = accepted + len(broken)
    broken_rows = [int(r[0]) for r in broken]
    # Number accepted rows by their place in the file, skipping the lines the parser rejected.
    con.execute(
        f"""
        create or replace temp view _raw_{n} as
        with numbered as (
            select row_number() over () as _k, to_json(src)::varchar as _raw, src.* from {source} as src
        ),
        places as (
            select range as _row, row_number() over (order by range) as _k
            from range(1, {total + 1}) where range not in (select unnest(?::bigint[]))
        )
        select places._row, numbered.* exclude (_k)
        from numbered join places using (_k)
    """.replace("?::bigint[]", "[" + ",".join(map(str, broken_rows)) + "]::bigint[]")
    )
    return RawFile(
        path, f"_raw_{n}", columns, total, [(int(r[0]), f"unreadable line: {r[1]}", r[2]) for r in broken]
    )


def _read_xlsx(con, path: Path, decimal: str) -> RawFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise CrmkitError(f"{path.name}: cannot read as XLSX: {exc}") from exc
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else f"column{i + 1}" for i, h in enumerate(next(rows, ()))]

    def text(value):
        if value is None:
            return None
        if isinstance(value, float | int) and not isinstance(value, bool):
            return str(value).replace(".", decimal)
        return str(value)

    data = [[text(v) for v in row[: len(header)]] for row in rows if any(v is not None for v in row)]
    book.close()
    frame = pd.DataFrame(data, columns=header, dtype="object")
    n = next(_counter)
    con.register(f"_xlsx_{n}", frame)
    con.execute(f"""
        create or replace temp view _raw_{n} as
        select row_number() over () as _row, to_json(src)::varchar as _raw, src.*
        from _xlsx_{n} as src
    """)
    return RawFile(path, f"_raw_{n}", header, len(frame))
