"""Reading export files as text: CSV (any delimiter; UTF-8, UTF-8 with BOM, cp1251 or cp1252),
XLSX (title rows and merged header cells above the header allowed) and JSON API responses, row
by row, without losing a row: a line the CSV parser cannot split, or a totals row at the end of
a spreadsheet, becomes a reject with its reason, not a gap."""

from __future__ import annotations

import atexit
import codecs
import functools
import itertools
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.importers.base import quote_ident, quote_literal

_counter = itertools.count()
# A row summing the rows above it, as spreadsheets made for people often end.
TOTALS = re.compile(r"^\s*(итого|всего|total|totals|grand total)\b\s*:?", re.IGNORECASE)


@dataclass
class RawFile:
    """A file read as text: a relation with its header's columns, `_row` and `_raw`."""

    path: Path
    relation: str
    columns: list[str]
    rows_read: int
    # Rows that are not records: (row, reason, raw text) — lines the parser could not split,
    # totals rows
    broken_rows: list[tuple[int, str, str]] = field(default_factory=list)

    def col(self, name: str | None, default: str = "null") -> str:
        """SQL for column `name` of the file, or `default` when the file has no such column."""
        if name is None or name not in self.columns:
            return default
        return 'src."' + name.replace('"', '""') + '"'


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


# The encoding the user names (`crmkit load --encoding`), for a file the detection gets wrong.
_forced: str | None = None


def force_encoding(name: str | None) -> None:
    """Read every file as `name` (None: detect), as `crmkit load --encoding NAME` asks."""
    global _forced
    if name == _forced:
        return  # detections made so far stand (and stay cached)
    if name is not None:
        try:
            codecs.lookup(name)
        except LookupError as exc:
            raise CrmkitError(
                f"--encoding {name}: not an encoding Python knows (e.g. utf-8, cp1251, koi8-r)"
            ) from exc
    _forced = name
    _encoding.cache_clear()
    _utf8_copy.cache_clear()
    _peek_columns.cache_clear()


def _looks_like_koi8(text: str) -> bool:
    """KOI8-R read as cp1251 turns Russian into CAPITALS (its lower-case letters sit where cp1251
    has upper-case ones): text that is mostly capital Cyrillic was most likely KOI8-R."""
    letters = [c for c in text if "А" <= c <= "я" or c in "Ёё"]
    return len(letters) >= 20 and sum(c.isupper() for c in letters) > 0.7 * len(letters)


FAR_EAST = ("shift_jis", "cp932", "euc_jp", "euc_kr", "gb2312", "gb18030", "big5", "cp949")


@functools.lru_cache(maxsize=64)
def _encoding(key: tuple[str, int, int]) -> str:
    """The encoding named with --encoding; else UTF-16 by its byte-order mark (Excel's "Unicode
    text"); utf-8 when the whole file decodes as UTF-8 (a BOM included); else cp1251 or cp1252,
    whichever the charset detector finds likelier (Cyrillic or Western European exports). A file
    that decodes but reads as garbage (KOI8-R, Shift-JIS) is refused, naming the likely encoding."""
    if _forced:
        return _forced
    with open(key[0], "rb") as handle:
        start = handle.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(key[0], "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                # a block of ASCII is UTF-8 unless a character begun before it is left unfinished;
                # checked that way at many times the decoder's speed (most of a big export)
                if not (block.isascii() and not decoder.getstate()[0]):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    data = Path(key[0]).read_bytes()
    best = charset_normalizer.from_bytes(data[: 1 << 18], cp_isolation=["cp1251", "cp1252"]).best()
    sample = data[: 1 << 18]
    for candidate in dict.fromkeys([best.encoding if best else "cp1251", "cp1251", "cp1252"]):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        likely = "koi8-r" if _looks_like_koi8(text[: 1 << 16]) else None
        if likely is None:
            broad = charset_normalizer.from_bytes(sample).best()
            likely = broad.encoding if broad and broad.encoding in FAR_EAST else None
        if likely:
            raise CrmkitError(
                f"{Path(key[0]).name}: read as {candidate}, the text looks wrong; it is most likely "
                f"{likely}: load it with --encoding {likely} (or export it again in UTF-8)"
            )
        return candidate
    raise CrmkitError(
        f"{Path(key[0]).name}: not text in UTF-8, cp1251 or cp1252 (is it a binary file?); "
        "export it again as CSV or XLSX"
    )


def encoding(path: Path) -> str:
    return _encoding(_key(Path(path)))


@functools.lru_cache(maxsize=64)
def _utf8_copy(key: tuple[str, int, int]) -> Path:
    path = Path(key[0])
    folder = tempfile.mkdtemp(prefix="crmkit-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a decoded copy lives as long as the process
    copy = Path(folder) / path.name
    copy.write_text(path.read_bytes().decode(_encoding(key)), encoding="utf-8")
    return copy


def utf8_path(path: Path) -> Path:
    """The file itself when it is UTF-8; otherwise a UTF-8 copy decoded from its encoding."""
    key = _key(Path(path))
    return Path(path) if _encoding(key) == "utf-8" else _utf8_copy(key)


def is_spreadsheet(path: Path) -> bool:
    return Path(path).suffix.lower() in (".xlsx", ".xlsm")


def head_text(path: Path, size: int = 1 << 16) -> str:
    """The start of a file as text, for auto-detection."""
    with open(path, "rb") as handle:
        return handle.read(size).decode("utf-8", "ignore")


def peek_columns(path: Path) -> list[str]:
    """The header of a CSV, XLSX or Parquet file, read cheaply for auto-detection ([] if unreadable);
    read once per file version, though every format's detection asks for it."""
    return list(_peek_columns(_key(Path(path))))


@functools.lru_cache(maxsize=256)
def _peek_columns(key: tuple[str, int, int]) -> tuple[str, ...]:
    path = Path(key[0])
    try:
        if is_spreadsheet(path):
            return tuple(_xlsx_header(path)[0])
        with duckdb.connect() as con:
            if path.suffix.lower() == ".parquet":
                cursor = con.execute("select * from read_parquet(?) limit 0", [str(path)])
            else:
                cursor = con.execute(
                    "select * from read_csv(?, all_varchar = true, header = true) limit 0",
                    [str(utf8_path(path))],
                )
            return tuple(c[0] for c in cursor.description)
    except CrmkitError:  # an encoding that reads as garbage: say so now, not "unknown format"
        raise
    except Exception:  # detection only: the reader reports an unreadable file properly
        return ()


def read_text_table(con: duckdb.DuckDBPyConnection, path: Path, *, decimal: str = ".") -> RawFile:
    path = Path(path)
    if not path.exists():
        raise CrmkitError(f"file not found: {path}")
    if is_spreadsheet(path):
        return _read_xlsx(con, path, decimal)
    if path.suffix.lower() == ".json":
        raise CrmkitError(f"{path.name}: a JSON file where a CSV or XLSX table was expected")
    if path.suffix.lower() == ".parquet":
        return _read_parquet(con, path)
    return _read_csv(con, path)


def _read_parquet(con, path: Path) -> RawFile:
    """A Parquet table read as text, as every file is: validation types each value itself, so a
    Parquet file and a CSV file of the same rows load the same (DuckDB reads it in row groups)."""
    n = next(_counter)
    try:
        columns = [
            c[0] for c in con.execute("select * from read_parquet(?) limit 0", [str(path)]).description
        ]
    except duckdb.Error as exc:
        raise CrmkitError(
            f"{path.name}: cannot read as Parquet ({str(exc).splitlines()[0]}); write it again"
        ) from exc
    as_text = ", ".join(f"src.{quote_ident(c)}::varchar as {quote_ident(c)}" for c in columns)
    con.execute(
        f"create or replace temp view _raw_{n} as select row_number() over () as _row, "
        f"to_json(src)::varchar as _raw, {as_text} from read_parquet('{_sql_path(path)}') as src"
    )
    total = con.execute(f"select count(*) from _raw_{n}").fetchone()[0]
    return RawFile(path, f"_raw_{n}", columns, total)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _ends_mid_line(path: Path) -> bool:
    """A text export ends with a line break; one that does not was most likely cut off."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


LINE = "__crmkit_line"  # a CSV row's number as read, beside its columns


def _read_csv(con, path: Path) -> RawFile:
    if _ends_mid_line(utf8_path(path)):
        raise CrmkitError(
            f"{path.name}: ends in the middle of a line, so the file looks truncated (its last row "
            "may be cut short); export it again — or, if it is complete, end it with a line break"
        )
    n = next(_counter)
    source, errors = f"_src_{n}", f"_broken_{n}"
    readable = utf8_path(path)
    try:
        con.execute(
            f"create or replace temp table {source} as select * "
            f"from read_csv(?, all_varchar = true, header = true, store_rejects = true, "
            f"rejects_table = '{errors}', rejects_scan = '{errors}_scan')",
            [str(readable)],
        )
    except duckdb.Error as exc:
        raise CrmkitError(
            f"{path.name}: cannot read as CSV ({str(exc).splitlines()[0]}); "
            "check that it is a text export with a header line"
        ) from exc
    columns = [c[0] for c in con.execute(f"select * from {source} limit 0").description]
    broken = con.execute(
        f"select line - 1, min(error_message), min(csv_line) from {errors} group by line order by line"
    ).fetchall()  # one reject per line, though the parser may report a line more than once
    con.execute(f"drop table if exists {errors}; drop table if exists {errors}_scan")
    # The k-th line read is the table's k-th row: the read is parallel, its order kept (a
    # `row_number() over ()` beside it made the read single-threaded, twice as slow). Inside the
    # load's transaction the rowids do not start at 0.
    accepted, first = con.execute(f"select count(*), coalesce(min(rowid), 0) from {source}").fetchone()
    total = accepted + len(broken)
    broken_rows = [(int(r[0]), f"unreadable line: {r[1]}", r[2]) for r in broken]
    skipped = [r[0] for r in broken_rows]
    if skipped:  # the k-th row read is the k-th line the parser did not reject
        con.execute(f"""
            create or replace temp table _places_{n} as
            select range as _row, row_number() over (order by range) as {LINE}
            from range(1, {total + 1}) where range not in (select unnest([{",".join(map(str, skipped))}]::bigint[]))
        """)
        numbered = (
            f"(select _places_{n}._row, src.* from (select rowid - {first} + 1 as {LINE}, * from {source}) "
            f"as src join _places_{n} using ({LINE}))"
        )
    else:
        numbered = f"(select rowid - {first} + 1 as _row, * from {source})"
    # The row as the file gave it (kept for the rejects) is built where it is read, not stored
    # beside every row: that doubled the temporary data of a load (56 GB at ten million deals).
    as_json = ", ".join(f"{quote_literal(c)}, {quote_ident(c)}" for c in columns)
    con.execute(f"""
        create or replace temp view _numbered_{n} as
        select _row, json_object({as_json})::varchar as _raw, {", ".join(map(quote_ident, columns))}
        from {numbered}
    """)
    totals = _csv_totals(con, f"_numbered_{n}", columns, total)
    keep = ", ".join(str(r[0]) for r in totals) or "-1"
    con.execute(
        f"create or replace temp view _raw_{n} as select * from _numbered_{n} where _row not in ({keep})"
    )
    return RawFile(path, f"_raw_{n}", columns, total, sorted(broken_rows + totals))


def _totals_row(row: int, values) -> tuple[int, str, str] | None:
    first = next((str(v) for v in values if v not in (None, "")), "")
    if TOTALS.match(first):
        shown = json.dumps([v for v in values], ensure_ascii=False, default=str)
        return row, f"a totals row ({first.strip()}), not a record", shown
    return None


def _csv_totals(con, relation: str, columns: list[str], total: int) -> list[tuple[int, str, str]]:
    """Totals rows among the last two rows of a CSV file (a spreadsheet saved as CSV)."""
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    rows = con.execute(
        f"select _row, {cols} from {relation} where _row > {total - 2} order by _row"
    ).fetchall()
    return [hit for row in rows if (hit := _totals_row(row[0], row[1:]))]


@dataclass(frozen=True)
class Unsaved:
    """A formula cell with no saved value (as openpyxl and many tools write them): what Excel would
    show is not in the file."""

    formula: str


def _open_xlsx(path: Path, values: bool):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=values)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise CrmkitError(
            f"{path.name}: cannot read as XLSX ({exc}); re-save it from Excel or export it again"
        ) from exc


def _merged_ranges(path: Path, member: str) -> list[tuple[int, int, int, int]]:
    """The first sheet's merged ranges (first row, first column, last row, last column), read from
    its XML, where openpyxl's streaming reader does not look: in chunks, the list sits at the end."""
    from openpyxl.utils.cell import range_boundaries

    found, tail = [], b""
    pattern = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
    with zipfile.ZipFile(path) as archive, archive.open(member) as sheet:
        while chunk := sheet.read(1 << 20):
            text = tail + chunk
            found += [m.group(1).decode() for m in pattern.finditer(text)]
            tail = text[-200:] if len(text) > 200 else text
            found = list(dict.fromkeys(found))  # a match in the overlap is seen twice
    return [(r1, c1, r2, c2) for c1, r1, c2, r2 in map(range_boundaries, found)]


def _xlsx_rows(path: Path, fill_from: int | None = None):
    """The first sheet's rows of values. A formula without a saved value is `Unsaved`; from row
    `fill_from` on (0-based), every cell of a merged range holds the range's value, as Excel
    shows it (a manager's name merged down over the rows of their deals)."""
    values, formulas = _open_xlsx(path, values=True), _open_xlsx(path, values=False)
    try:
        sheet = values.worksheets[0]
        merges = _merged_ranges(path, sheet._worksheet_path) if fill_from is not None else []
        anchors: dict[tuple[int, int], object] = {}
        pairs = zip(sheet.iter_rows(values_only=True), formulas.worksheets[0].iter_rows(values_only=True),
                    strict=False)  # fmt: skip
        for number, (row, written) in enumerate(pairs, 1):
            row = [
                Unsaved(f) if v is None and isinstance(f, str) and f.startswith("=") else v
                for v, f in itertools.zip_longest(row, written)
            ]
            for r1, c1, r2, c2 in merges:
                if r1 == number:
                    anchors[r1, c1] = row[c1 - 1] if c1 <= len(row) else None
                elif r1 < number <= r2 and fill_from is not None and number > fill_from:
                    row += [None] * (c2 - len(row))
                    row[c1 - 1 : c2] = [anchors.get((r1, c1))] * (c2 - c1 + 1)
            yield tuple(row)
    finally:
        values.close()
        formulas.close()


def _xlsx_header(path: Path, scan: int = 10) -> tuple[list[str], int]:
    """The header (names, index of its row): the first of the top rows filled at least half as
    wide as the widest, so that title rows and group titles merged over several columns above
    it are skipped; a cell of a header merged down from the row above takes that row's name."""
    top = list(itertools.islice(_xlsx_rows(path), scan))
    widths = [sum(v not in (None, "") for v in row) for row in top]
    if not top or max(widths) == 0:
        return [], 0
    at = next(i for i, w in enumerate(widths) if w >= max(2, max(widths) / 2) or w == max(widths))
    names = []
    for j, value in enumerate(top[at]):
        above = [r[j] for r in top[:at] if j < len(r) and r[j] not in (None, "")]
        name = value if value not in (None, "") else (above[-1] if above else None)
        names.append(str(name).strip() if name is not None else f"column{j + 1}")
    while names and names[-1].startswith("column"):
        names.pop()
    return names, at


def _read_xlsx(con, path: Path, decimal: str) -> RawFile:
    header, at = _xlsx_header(path)
    if not header:
        raise CrmkitError(f"{path.name}: the first sheet is empty; expected a header row and data rows")

    def text(value):
        if value is None:
            return None
        if isinstance(value, Unsaved):
            return value.formula
        if isinstance(value, float | int) and not isinstance(value, bool):
            return str(value).replace(".", decimal)
        return str(value)

    rows = itertools.islice(_xlsx_rows(path, fill_from=at + 1), at + 1, None)
    kept = [row[: len(header)] for row in rows if any(v is not None for v in row)]
    unsaved = []
    for i, row in enumerate(kept, 1):
        cells = [(name, v.formula) for name, v in zip(header, row, strict=False) if isinstance(v, Unsaved)]
        if cells:
            name, formula = cells[0]
            reason = (f"a formula without a saved value in {name!r} ({formula[:40]}): open the file in "
                      "Excel and save it, so each formula keeps its value")  # fmt: skip
            unsaved.append((i, reason, json.dumps([text(v) for v in row], ensure_ascii=False)))
    data = [[text(v) for v in row] for row in kept]
    data = [row + [None] * (len(header) - len(row)) for row in data]
    totals = [hit for i in range(max(0, len(data) - 2), len(data)) if (hit := _totals_row(i + 1, data[i]))]
    totals = [hit for hit in totals if hit[0] not in {row for row, _, _ in unsaved}]
    return _register(con, path, header, data, sorted(unsaved + totals))


def _register(
    con, path: Path, header: list[str], data: list[list], broken=(), raw: list | None = None
) -> RawFile:
    """A relation over rows of text held in memory; `broken` rows are numbered but left out.
    `_raw` is the row as JSON, or the given source text of each row."""
    left_out = {row for row, _, _ in broken}
    kept = [i for i in range(1, len(data) + 1) if i not in left_out]
    frame = pd.DataFrame([data[i - 1] for i in kept], columns=header, dtype="object")
    if frame.columns.duplicated().any():
        raise CrmkitError(f"{path.name}: the header names a column twice: {', '.join(map(repr, header))}")
    frame.insert(0, "_row", kept)
    if raw is not None:
        frame.insert(1, "_raw", [raw[i - 1] for i in kept])
    n = next(_counter)
    con.register(f"_mem_{n}", frame)
    # Every column as text, even one that holds no value at all (pandas cannot say its type).
    text_cols = ", ".join(f'"{c}"::varchar as "{c}"' for c in (c.replace('"', '""') for c in header))
    con.execute(f"""create or replace temp view _text_{n} as
        select _row{", _raw" if raw is not None else ""}{", " if header else ""}{text_cols} from _mem_{n}""")
    if raw is not None:
        con.execute(f"create or replace temp view _raw_{n} as select * from _text_{n}")
    else:
        con.execute(f"""
            create or replace temp view _raw_{n} as
            select numbers._row, to_json(src)::varchar as _raw, src.*
            from (select * exclude (_row) from _text_{n}) as src
            positional join (select _row from _text_{n}) as numbers
        """)
    return RawFile(path, f"_raw_{n}", header, len(data), list(broken))


# ---------------------------------------------------------------------------------------------
# JSON: API responses saved to files


def read_json(path: Path):
    """A saved API response: one JSON document, several pages in a list, or JSON lines."""
    path = Path(path)
    if not path.exists():
        raise CrmkitError(f"file not found: {path}")
    text = path.read_bytes().decode(encoding(path)).lstrip("\ufeff")
    try:
        return json.loads(text)
    except RecursionError:
        raise CrmkitError(
            f"{path.name}: JSON nested too deep to be an API response; save the response again"
        ) from None
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if exc.msg == "Extra data" and len(lines) > 1:
            try:
                return [json.loads(line) for line in lines]
            except (json.JSONDecodeError, RecursionError):
                pass
        raise CrmkitError(
            f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "the file may be truncated — save the API response again"
        ) from exc


def _flat(record: dict, prefix: str = "") -> dict[str, str | None]:
    """A record as text columns: nested objects become `a.b`, lists stay JSON text."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        elif value is None:
            out[name] = None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = str(value)
    return out


def records_table(con, path: Path, records: list, shape=None, columns=()) -> RawFile:
    """A relation over JSON records (one row each, in file order): `shape(record)` gives a
    record's text columns (default: every field, nested ones as `a.b`); `_raw` is the record.
    A record that is not an object is kept as a broken row."""
    flat, broken, raw = [], [], []
    for i, record in enumerate(records, 1):
        raw.append(json.dumps(record, ensure_ascii=False, default=str))
        if isinstance(record, dict):
            flat.append(shape(record) if shape else _flat(record))
        else:
            flat.append({})
            broken.append((i, "not a JSON object", raw[-1]))
    header = list(dict.fromkeys([*columns, *(k for row in flat for k in row)]))
    data = [[row.get(k) for k in header] for row in flat]
    return _register(con, Path(path), header, data, broken, raw)


def text(value) -> str | None:
    """A JSON value as the text a CSV would hold (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def epoch_text(value) -> str | None:
    """A Unix time in seconds (as amoCRM's API gives) as ISO 8601 UTC text; other text as is,
    so that a value that is not a time is rejected with the column named."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return text(value)
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(value)
