"""What every importer shares: typing text into canonical columns, rejects, merge, accounting.

A format module only *stages* its files: for each input file it creates a relation of text
columns named as the canonical table's columns, plus `_row` (the source row number) and `_raw`
(the row as read, JSON text). `store` does the rest the same way for every format:

- each value is read by its column type; a row with an unreadable value, a missing required
  value, an unknown reference or a key already seen earlier in the file goes to `rejects`
  with every reason that applies;
- accepted rows are merged by key (a row with the same key is replaced), so loading the same
  export twice changes nothing and a newer export updates deals and adds new history;
- `loads` gets one row per file: rows read = loaded + rejected, always.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from crmkit.contract import TABLES, Table
from crmkit.db import sql_text
from crmkit.errors import CrmkitError

# Day-first with dots (Russian exports), month-first with slashes (US exports); ISO is tried first.
DEFAULT_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %I:%M %p",
)
_views = itertools.count()
EARLIEST, LATEST = "timestamp '1970-01-01'", "timestamp '2101-01-01'"  # dates a report can show
TRUE_WORDS = ("true", "t", "1", "yes", "y", "да")
FALSE_WORDS = ("false", "f", "0", "no", "n", "нет")


@dataclass
class Staged:
    """One input file, staged as a relation of text columns under canonical names."""

    table: str  # the canonical table it fills
    file: Path
    relation: str  # name of a temp view with the canonical columns, `_row` and `_raw`
    rows_read: int | None  # None: the relation's rows, counted when stored (a derived table)
    # Lines the file parser could not split into columns: (row, reason, raw text)
    broken_rows: list[tuple[int, str, str]] = field(default_factory=list)
    # A file whose rows only feed another file's rows (a joined file): its relation already
    # holds `_reason`; it is accounted for in loads/rejects but merges nothing itself.
    accounting_only: bool = False
    # A column of the relation giving a source-specific reason to leave a row out (a record the
    # source marks deleted, a save that changed no stage): such rows go to rejects with it.
    drop_reason: str | None = None
    # Rows derived from a deal's current state (its creation entry in the stage it was first
    # seen in) replace what an older export derived for the same deal and moment, even when the
    # stage differs: the part of the key that says "the same entry".
    replace_key: tuple[str, ...] | None = None
    # A SELECT of deal ids the source says were deleted (amoCRM's lead_deleted events): those
    # deals, their history and activities leave the database once this file is stored.
    removes: str | None = None
    # A column of the relation with what the source says about a row that is kept all the same
    # (a flag that contradicts the stage): stored in load_notes for the audit.
    note_column: str | None = None


@dataclass
class LoadResult:
    file: Path
    table: str
    load_id: int | None  # None: this exact file was loaded before, nothing done
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    # (reason with the values left out, rows, one example of the full reason), most frequent first
    top_reasons: list[tuple[str, int, str]]
    # Rejected for a problem with the data, not left out because the source says so (a record
    # marked deleted, a save that changed no stage): what decides whether a load failed.
    rows_failed: int = 0
    joined: bool = False  # a file whose rows only join another's (accounting only)

    @property
    def mostly_failed(self) -> bool:
        return self.rows_failed > 0 and self.rows_failed * 2 > self.rows_read


@dataclass(frozen=True)
class ReadOptions:
    """How source text is read: the account's time zone, date formats, decimal separator.
    `explicit_dates`: the formats were written by the user (a mapping's date_formats), so the
    layout is not told from the values. `ask_day_or_month`: slashed dates that read both
    day-first and month-first are refused rather than read month-first (any CSV through a
    mapping; a named CRM's export has its vendor's layout)."""

    time_zone: str = "UTC"
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    decimal: str = "."
    explicit_dates: bool = False
    ask_day_or_month: bool = False

    def __post_init__(self):
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CrmkitError(f"unknown time zone {self.time_zone!r} (use e.g. Europe/Moscow)") from exc
        if self.decimal not in (".", ","):
            raise CrmkitError(f"decimal separator must be '.' or ',', not {self.decimal!r}")


def stage_view(
    con,
    table: str,
    raw,
    select: str,
    *,
    drop_reason: str | None = None,
    derived: bool = False,
    routed: bool = False,
    replace_key: tuple[str, ...] | None = None,
    note_column: str | None = None,
) -> Staged:
    """Stage `select` (canonical text columns, `_row`, `_raw`; a column it lacks is null) from
    file `raw` as a view filling `table`. A derived table (stages or users made from the values
    of a file) counts its own rows when stored; so does a routed one (a file whose rows go to
    two tables: one is staged routed and keeps the file's broken rows, the other derived);
    otherwise the file's rows and broken rows are accounted for."""
    name = f"_staged_{table}_{next(_views)}"
    con.execute(f"create or replace temp view {name}_select as {select}")
    with_all_columns(con, f"{name}_select", TABLES[table], name)
    if derived:  # its own rows, counted when stored
        rows, broken = None, []
    elif routed:  # the file's rows this table takes, and the file's broken rows
        rows, broken = None, list(raw.broken_rows)
    else:
        rows, broken = raw.rows_read, list(raw.broken_rows)
    return Staged(
        table, raw.path, name, rows, broken, drop_reason=drop_reason, replace_key=replace_key,
        note_column=note_column,
    )


def with_all_columns(con, relation: str, table: Table, name: str) -> str:
    """View `name` over `relation` with every column of `table`, those it lacks as empty ones."""
    have = {c[0] for c in con.execute(f"select * from {relation} limit 0").description}
    nulls = "".join(f", null::varchar as {quote_ident(c)}" for c in table.column_names if c not in have)
    con.execute(f"create or replace temp view {name} as select *{nulls} from {relation}")
    return name


def stage_records(con, table: str, path: Path, records: list, shape) -> Staged:
    """Stage JSON records: `shape(record)` gives a record's canonical text columns, and `_drop`
    the reason to leave it out, if any (columns it does not give are null)."""
    from crmkit.importers.files import records_table

    raw = records_table(con, path, records, shape, (*TABLES[table].column_names, "_drop"))
    return stage_view(con, table, raw, f"select * from {raw.relation}", drop_reason="_drop")


def funnel_positions(stages: list[tuple[str, str, str, object]]) -> dict[tuple[str, str], str]:
    """Each stage's place in its pipeline's funnel from (pipeline, stage, kind, sort) in the order
    the files list them: open stages by sort, then won, then lost. Ranked over every file at once,
    in Python: a CRM lists its stages a page at a time, and a funnel split over two pages is still
    one funnel (a rank per file gave it two)."""

    def sort(value) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0

    ordered = sorted(
        enumerate(stages), key=lambda e: (e[1][2] == "lost", e[1][2] == "won", sort(e[1][3]), e[0])
    )
    positions, counts = {}, {}
    for _, (pipeline, stage, _kind, _sort) in ordered:
        counts[pipeline] = counts.get(pipeline, 0) + 1
        positions.setdefault((pipeline, stage), str(counts[pipeline]))
    return positions


def stage_pipelines(con, path: Path, pipelines: list[dict], stages: list[dict]) -> list[Staged]:
    """Stage a CRM's pipelines and their stages as its API lists them: pipelines as
    {pipeline_id, name}, stages as {pipeline_id, stage_id, name, sort, kind, is_inbox}. A pipeline's funnel
    order is its open stages by `sort`, then won, then lost stages."""
    from crmkit.importers.files import records_table

    raw_pipelines = records_table(con, path, pipelines, None, TABLES["pipelines"].column_names)
    raw_stages = records_table(
        con, path, stages, None, ("pipeline_id", "stage_id", "name", "sort", "kind", "is_inbox")
    )
    return [
        stage_view(con, "pipelines", raw_pipelines, f"select * from {raw_pipelines.relation}"),
        stage_view(con, "stages", raw_stages, f"""
            select _row, _raw, pipeline_id, stage_id, name, kind, is_inbox,
                   row_number() over (partition by pipeline_id order by kind = 'lost', kind = 'won',
                                      try_cast(sort as integer), _row)::varchar as position
            from {raw_stages.relation}"""),
    ]  # fmt: skip


def pipelines_as_named(con, raw, relation: str, pipeline: str) -> Staged:
    """Pipelines for the values a deals file gives in its pipeline column (the name is the id),
    numbered in the order the file first names them."""
    return stage_view(con, "pipelines", raw, f"""
        select row_number() over (order by min(_row)) as _row, {pipeline} as _raw, {pipeline} as pipeline_id,
               {pipeline} as name
        from {relation} where {pipeline} is not null group by {pipeline}""", derived=True)  # fmt: skip


def owners_as_users(con, raw, relation: str, owner: str = "owner_id") -> Staged:
    """Users for the owners a deals file names that no users file (loaded first) describes,
    named by their id or name as the file gives it."""
    return stage_view(
        con,
        "users",
        raw,
        f"""
        select row_number() over (order by user_id) as _row, user_id as _raw, user_id, user_id as name
        from (select distinct {owner} as user_id from {relation}
              where {owner} is not null and {owner} not in (select user_id from main.users)) as owners""",
        derived=True,
    )


def amount_text(expr: str) -> str:
    """SQL normalising an amount as exports write it to plain `1234567.89`, whichever the
    locale: `1 234 567,89`, `1.234.567,89`, `1,234,567.89`, `45 000 ₽`. A comma followed by one
    or two final digits is the decimal separator; otherwise commas separate thousands."""
    bare = f"regexp_replace(trim({expr}), '[\\s\\x{{00a0}}\\x{{202f}}''₽$€£₸₴]', '', 'g')"
    return (
        f"case when regexp_full_match({bare}, '-?[\\d.]*,\\d{{1,2}}') "
        f"then replace(replace({bare}, '.', ''), ',', '.') else replace({bare}, ',', '') end"
    )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_columns(found: list[str], table: Table, file: Path, mapped: dict[str, str] | None = None):
    """Fail with the missing column named and the columns found, before any row is read."""
    needed = [c.name for c in table.columns if c.required] if mapped is None else list(mapped)
    lookup = mapped or {name: name for name in needed}
    missing = [lookup[name] for name in needed if lookup[name] not in found]
    if missing:
        raise CrmkitError(
            f"{file.name}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (needed for {table.name}); "
            f"found: {', '.join(repr(f) for f in found) or 'no columns'}"
        )


def trimmed(text: str) -> str:
    """SQL for text column `text` without the spaces around it, null when nothing is left. DuckDB's
    trim removes Unicode spaces (U+00A0, U+202F …) but not tabs, so only a value with an ASCII
    space at an end or any non-ASCII character can change: the others skip it (trimming every value
    was a sixth of validating the activities at a million deals). A byte-order mark is no text
    either: one in the middle of a file (two exports joined) would be part of a deal id."""
    return (
        f"nullif(case when {text} like ' %' or {text} like '% ' then trim({text}) "
        f"when strlen({text}) <> length({text}) then trim(replace({text}, chr(65279), '')) else {text} end, '')"
    )


def _parsed(raw: str, options: ReadOptions) -> str:
    """SQL reading date text `raw` as a local timestamp, whichever layout it has."""
    formats = "[" + ", ".join(quote_literal(f) for f in options.date_formats) + "]"
    # An Excel serial day number (days since 1899-12-30, a fraction for the time of day), as a
    # spreadsheet gives a date cell formatted as a number.
    serial = (
        f"case when regexp_full_match({raw}, '\\d{{5}}([.,]\\d+)?') then timestamp '1899-12-30' + "
        f"to_microseconds(round(cast(replace({raw}, ',', '.') as double) * 86400e6)::bigint) end"
    )
    return f"coalesce(try_cast({raw} as timestamp), try_strptime({raw}, {formats}), {serial})"


def _typed(column, options: ReadOptions, raw: str, read: str | None = None) -> tuple[str, str | None]:
    """SQL reading text column `column` into its type, and the reason when it can't. `raw` is
    the trimmed text, `read` a date's parsed value when computed once beforehand (default: parsed
    here)."""
    if column.type == "text":
        return raw, None
    if column.type in ("timestamp", "date"):
        read = read or _parsed(raw, options)
        # Only 1970–2100: a placeholder (0001-01-01, -infinity, 9999-12-31) is no moment a
        # report can place, and a time-zone shift must not push it out of the calendar.
        local = f"(case when {read} >= {EARLIEST} and {read} < {LATEST} then {read} end)"
        if column.type == "date":
            return f"cast({local} as date)", "cannot read as a date from 1970 to 2100"
        # A time that does not state its offset is in the account's zone, converted to UTC (in
        # UTC itself nothing to convert: the conversion costs a second per ten million values).
        in_utc = local
        if options.time_zone != "UTC":
            in_utc = f"timezone('UTC', timezone({quote_literal(options.time_zone)}, {local}))"
        # A time that states its offset (ISO 8601 `+03:00` or `Z`, as APIs give) is read as such.
        return (
            f"case when regexp_matches({raw}, '\\d[T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*(Z|[+-]\\d\\d(:?\\d\\d)?)$') "
            f"then (case when try_cast({raw} as timestamptz) >= {EARLIEST} and try_cast({raw} as timestamptz) < {LATEST} "
            f"then timezone('UTC', try_cast({raw} as timestamptz)) end) "
            f"else {in_utc} end"
        ), "cannot read as a date and time from 1970 to 2100"
    if column.type == "decimal":
        other = "," if options.decimal == "." else "."
        cleaned = f"regexp_replace({raw}, '[\\s\\x{{00a0}}\\x{{202f}}''{other}]', '', 'g')"
        if options.decimal == ",":
            cleaned = f"replace({cleaned}, ',', '.')"
        return f"try_cast({cleaned} as decimal(18, 2))", "cannot read as a number"
    if column.type == "float":
        cleaned = f"replace(regexp_replace({raw}, '[\\s\\x{{00a0}}\\x{{202f}}]', '', 'g'), ',', '.')"
        return f"try_cast({cleaned} as double)", "cannot read as a number"
    if column.type == "int":  # an INTEGER column: a value beyond its range is rejected, not an abort
        return (
            f"try_cast(try_cast({raw} as double) as integer)",
            "cannot read as a whole number up to 2147483647",
        )
    if column.type == "bool":
        true = ", ".join(quote_literal(w) for w in TRUE_WORDS)
        false = ", ".join(quote_literal(w) for w in FALSE_WORDS)
        return (
            f"case when lower({raw}) in ({true}) then true when lower({raw}) in ({false}) then false end"
        ), "cannot read as yes/no"
    if column.type == "enum":
        allowed = ", ".join(quote_literal(v) for v in column.values)
        return (
            f"case when lower({raw}) in ({allowed}) then lower({raw}) end",
            f"not one of {', '.join(column.values)}",
        )
    raise AssertionError(column.type)


def validation_sql(table: Table, relation: str, options: ReadOptions, drop_reason: str | None = None) -> str:
    """A SELECT giving every staged row typed, with `_reason` (null when the row is accepted) and
    `_is_drop` (rejected because the source leaves the row out, not for a problem). Each text is
    trimmed once, each date parsed once, each value typed once: the reasons read the typed
    columns, not the expressions again (it matters at millions of rows). `_raw` is left empty:
    `fill_raw` gives the rejected rows theirs afterwards."""
    drop = f"staged.{quote_ident(drop_reason)}::varchar" if drop_reason else "null::varchar"
    names = {c.name: quote_ident(c.name) for c in table.columns}
    text = {c.name: quote_ident("__text_" + c.name) for c in table.columns}
    read = {c.name: quote_ident("__read_" + c.name) for c in table.columns if c.type in ("timestamp", "date")}
    untrimmed = ", ".join(f"staged.{names[c]}::varchar as {text[c]}" for c in names)
    texts = ", ".join(f"{trimmed(text[c])} as {text[c]}" for c in names)
    parsed = "".join(f", {_parsed(text[c], options)} as {read[c]}" for c in read)
    typed_cols, reasons = [], ["_drop_reason"]  # a row the source itself leaves out: that reason alone
    for column in table.columns:
        name, raw = names[column.name], text[column.name]
        expr, failure = _typed(column, options, raw, read.get(column.name))
        typed_cols.append(f"{expr} as {name}")
        if failure:
            reasons.append(
                f"case when {raw} is not null and {name} is null then "
                f"{quote_literal(column.name + ': ')} || {raw} || {quote_literal(': ' + failure)} end"
            )
        if column.required:
            reasons.append(f"case when {raw} is null then {quote_literal(column.name + ' is missing')} end")
        if column.minimum is not None:
            reasons.append(
                f"case when {name} < {column.minimum} then "
                f"{quote_literal(column.name + ': ')} || {raw} || {quote_literal(f': below {column.minimum:g}')} end"
            )
    clamps = ""
    if table.day_not_before:
        replaced = ", ".join(
            f"case when strpos(coalesce({text[column]}, ':'), ':') = 0 and {names[column]} < {names[bound]} "
            f"and {names[column]} + interval 1 day > {names[bound]} then {names[bound]} else {names[column]} end "
            f"as {names[column]}"
            for column, bound in table.day_not_before
        )
        clamps = f"select * replace ({replaced}) from typed"
    reference_checks = []
    for here, there, their in table.references:
        cond = " and ".join(
            f"ref.{quote_ident(b)} = typed.{quote_ident(a)}" for a, b in zip(here, their, strict=True)
        )
        present = " and ".join(f"typed.{quote_ident(a)} is not null" for a in here)
        shown = " || '/' || ".join(f"typed.{quote_ident(a)}" for a in here)
        reference_checks.append(
            f"case when {present} and not exists (select 1 from main.{there} as ref where {cond}) "
            f"then {quote_literal('/'.join(here) + ' ')} || {shown} || "
            f"{quote_literal(' not found in ' + there)} end"
        )
    columns = ", ".join(names.values())
    return f"""
        with untrimmed as (
            select staged._row, {drop} as _drop_reason, {untrimmed} from {relation} as staged
        ),
        texts as (
            select _row, {trimmed("_drop_reason")} as _drop_reason, {texts} from untrimmed
        ),
        parsed as (
            select texts.*{parsed} from texts
        ),
        typed as (
            select _row, _drop_reason, {", ".join(text.values())}, {", ".join(typed_cols)} from parsed
        ),
        clamped as (
            {clamps or "select * from typed"}
        ),
        reasoned as (
            select *, concat_ws('; ', {", ".join(reasons)}) as _type_reason
            from clamped
        ),
        checked as (
            select typed._row, {", ".join(f"typed.{n}" for n in names.values())}, typed._drop_reason,
                   typed._type_reason,
                   concat_ws('; ', nullif(typed._type_reason, ''),
                             {", ".join(reference_checks) if reference_checks else "null"}) as _ref_reason
            from reasoned as typed
        )
        select _row, null::varchar as _raw, {columns}, _reason, _is_drop,
               _type_reason
        from (
            select *, coalesce(_drop_reason, nullif(_ref_reason, '')) as _reason,
                   _drop_reason is not null as _is_drop
            from checked
        )
    """


KEYS_PER_BUCKET = 20_000_000  # rows whose keys are grouped at once in reject_repeated_keys


def reject_repeated_keys(con, table: Table, validated: str = "_validated") -> None:
    """A key the file gives more than once: its first readable row is kept, each later readable
    one rejected. Ranked apart from validation and only over the repeated keys (a few rows):
    ranking every row of a ten-million-row file by its key was most of a load's time."""
    key = ", ".join(quote_ident(k) for k in table.key)
    same_key = " and ".join(
        f"repeated.{quote_ident(k)} is not distinct from v.{quote_ident(k)}" for k in table.key
    )
    # The keys given more than once, counted a bucket of keys at a time: grouping 95.7 M distinct
    # keys at once could not get memory beside the staged files filling DuckDB's buffer pool.
    rows = con.execute(f"select count(*) from {validated}").fetchone()[0]
    buckets = max(1, -(-rows // KEYS_PER_BUCKET))
    con.execute(f"create or replace temp table _repeated_keys as select {key} from {validated} limit 0")
    for bucket in range(buckets):
        part = f"where hash({key}) % {buckets} = {bucket}" if buckets > 1 else ""
        con.execute(
            f"insert into _repeated_keys select {key} from {validated} {part} group by all having count(*) > 1"
        )
    con.execute(f"""
        create or replace temp table _repeated as
        select row_id, _row from (
            select v.rowid as row_id, v._row, v._type_reason, v._is_drop,
                   row_number() over (partition by {", ".join(f"v.{quote_ident(k)}" for k in table.key)}
                                      order by v._type_reason <> '', v._row) as seen
            from {validated} as v
            semi join _repeated_keys as repeated on {same_key}
        ) where seen > 1 and _type_reason = '' and not _is_drop
    """)
    con.execute("drop table _repeated_keys")
    if con.execute("select count(*) from _repeated").fetchone()[0]:
        reason = quote_literal(f"duplicate key ({', '.join(table.key)}) within the file")
        con.execute(f"""
            update {validated} set _reason = concat_ws('; ', _reason, {reason})
            where {validated}.rowid in (select row_id from _repeated)
        """)
    con.execute("drop table _repeated")


RAW_ROWS_LISTED = 10_000  # rejected rows named one by one in fill_raw's query; more: a subquery


def fill_raw(con, relation: str, validated: str = "_validated") -> None:
    """The raw text of each rejected row, read again from `relation` for those rows only (a staged
    relation numbers its rows once each): building it for every row, as validation did, was a
    tenth of a load."""
    rows = f"select _row from {validated} where _reason is not null"
    listed = con.execute(f"{rows} limit {RAW_ROWS_LISTED + 1}").fetchall()
    if not listed:
        return
    # A few rows are named in the query: DuckDB then filters the rows before building their text
    # (given as a subquery, it built the text of a million deals to keep one: 0.7 s against 0.07).
    if len(listed) <= RAW_ROWS_LISTED:
        rows = ", ".join(str(row) for (row,) in listed)
    con.execute(f"""
        update {validated} set _raw = source._raw
        from (
            select _row, any_value(_raw) as _raw from {relation} where _row in ({rows}) group by _row
        ) as source
        where {validated}._reason is not null and {validated}._row = source._row
    """)


# Date layouts told from the values when the usual ones do not read them: each with the times
# that may follow the date. Day-first and month-first slashes are both candidates: the values
# decide, and a file where they cannot is refused with the date_formats to write.
DATE_LAYOUTS = ("%Y.%m.%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%y")
TIME_SUFFIXES = (" %H:%M:%S", " %H:%M", "")


def detect_date_formats(con, staged: Staged, table: Table, options: ReadOptions) -> tuple[str, ...]:
    """Date formats to put first for this file: for each date column whose values the usual
    formats do not read, the one layout that reads them all (a sample of distinct values).
    Raises when two layouts read them all but differently (01/02/2018: which is the month?)."""
    if options.explicit_dates:
        return ()
    found: list[str] = []
    for column in table.columns:
        if column.type not in ("timestamp", "date"):
            continue
        current, _ = _typed(column, options, raw="value")  # as the usual formats read it
        # The distinct values of the first 200,000 rows: enough to tell a layout, cheap at millions.
        con.execute(f"""create or replace temp table _date_values as
            select distinct value from (
                select {trimmed(quote_ident(column.name) + "::varchar")} as value
                from {staged.relation} limit 200000
            ) where value is not null limit 20000""")
        n_values, unread, slashed, example = con.execute(
            f"select count(*), count(*) filter (where ({current}) is null), "
            "count(*) filter (where regexp_matches(value, '^\\d{1,2}/\\d{1,2}/\\d{4}')), min(value) "
            "from _date_values"
        ).fetchone()
        if not n_values:
            continue
        if not unread and not (options.ask_day_or_month and slashed == n_values):
            continue
        fits = {}
        for layout in DATE_LAYOUTS:
            variants = [layout + suffix for suffix in TIME_SUFFIXES]
            formats = "[" + ", ".join(quote_literal(f) for f in variants) + "]"
            missed, readings = con.execute(
                f"select count(*) filter (where try_strptime(value, {formats}) is null), "
                f"list(try_strptime(value, {formats}) order by value) from _date_values"
            ).fetchone()
            if missed == 0:
                fits[layout] = (variants, readings)
        distinct = {tuple(readings): layout for layout, (_, readings) in fits.items()}
        if len(distinct) > 1:
            choices = " or ".join(f'date_formats: ["{layout}"]' for layout in fits)
            raise CrmkitError(
                f"{staged.file.name}: column {column.name}: the dates (e.g. {example!r}) read as more than one "
                f"layout ({', '.join(fits)}), and no value tells day from month; say which in the mapping: "
                f"{choices}"
            )
        if fits:
            found += next(iter(fits.values()))[0]
    con.execute("drop table if exists _date_values")
    return tuple(dict.fromkeys(found))


# The reasons of rejected rows without the values they quote, so that 8,000 unreadable dates
# are one line ("created_at: cannot read as a date and time"), not 8,000.
REASON_KIND = (
    "regexp_replace(regexp_replace(regexp_replace(reason, "
    "'(^|; )([a-z_]+): .*?: (cannot read|not one of)', '\\1\\2: \\3', 'g'), "
    "'(^|; )([a-z_/]+) [^;]*? not found in ', '\\1\\2 … not found in ', 'g'), "
    "'^([a-z_]+) [^;]* (repeats an earlier row|not found in [^;]+)', '\\1 … \\2', 'g')"
)


def already_loaded(con: duckdb.DuckDBPyConnection, digest: str, table: str) -> bool:
    hit = con.execute(
        "select 1 from main.loads where file_hash = ? and file_name like ?", [digest, f"%[{table}]"]
    ).fetchone()
    return hit is not None


def store(
    con, staged: Staged, *, source_format: str, options: ReadOptions, force: bool = False
) -> LoadResult:
    """Validate one staged file, merge its accepted rows, record the load and its rejects (inside
    the caller's transaction)."""
    table = TABLES[staged.table]
    if staged.rows_read is None:
        counted = con.execute(f"select count(*) from {staged.relation}").fetchone()[0]
        staged.rows_read = counted + len(staged.broken_rows)
    digest = file_hash(staged.file)
    if not force and already_loaded(con, digest, table.name):
        return LoadResult(staged.file, table.name, None, staged.rows_read, 0, 0, [])
    if not staged.accounting_only:  # a column the source never gives (added to the schema later) is empty
        staged.relation = with_all_columns(con, staged.relation, table, f"{staged.relation}_full")
        detected = detect_date_formats(con, staged, table, options)
        if detected:
            options = replace(options, date_formats=detected + options.date_formats)
    validated = (
        f"select _row, _raw, _reason, false as _is_drop from {staged.relation}"
        if staged.accounting_only
        else validation_sql(table, staged.relation, options, staged.drop_reason)
    )
    con.execute(f"create or replace temp table _validated as {validated}")
    if not staged.accounting_only:
        reject_repeated_keys(con, table)
        fill_raw(con, staged.relation)
    load_id = con.execute("select nextval('load_id_seq')").fetchone()[0]
    if not staged.accounting_only:
        merge(con, table, staged.replace_key)
    if staged.removes:
        for name in ("activities", "stage_changes", "deals"):
            con.execute(f"delete from main.{name} where deal_id in ({staged.removes})")
    con.execute(
        "insert into main.rejects select ?, ?, _row, _reason, _raw from _validated where _reason is not null",
        [load_id, table.name],
    )
    if staged.note_column:
        key = quote_ident(table.key[0])
        con.execute(
            f"delete from main.load_notes where table_name = ? and record_id in "
            f"(select {key}::varchar from _validated where _reason is null)",
            [table.name],
        )
        con.execute(
            f"insert into main.load_notes select ?, ?, staged.{key}::varchar, staged._row, staged.{quote_ident(staged.note_column)} "
            f"from {staged.relation} as staged semi join _validated as kept "
            f"on kept._row = staged._row and kept._reason is null "
            f"where staged.{quote_ident(staged.note_column)} is not null",
            [load_id, table.name],
        )
    if staged.broken_rows:
        con.executemany(
            "insert into main.rejects values (?, ?, ?, ?, ?)",
            [[load_id, table.name, *row] for row in staged.broken_rows],
        )
    loaded, rejected, failed = con.execute(
        "select count(*) filter (_reason is null), count(*) filter (_reason is not null), "
        "count(*) filter (_reason is not null and not _is_drop) from _validated"
    ).fetchone()
    rejected += len(staged.broken_rows)
    failed += len(staged.broken_rows)
    if loaded + rejected != staged.rows_read:  # the invariant, checked on every load
        raise AssertionError(f"{staged.file}: read {staged.rows_read} != {loaded} + {rejected}")
    con.execute(
        "insert into main.loads (load_id, source_format, file_name, file_hash, rows_read, rows_loaded, "
        "rows_rejected, time_zone, loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            source_format,
            f"{staged.file.name} [{table.name}]",
            digest,
            staged.rows_read,
            loaded,
            rejected,
            options.time_zone,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    reasons = con.execute(
        f"select {REASON_KIND} as kind, count(*), min(reason) from main.rejects where load_id = ? "
        "group by 1 order by 2 desc, 1 limit 5",
        [load_id],
    ).fetchall()
    con.execute("drop table _validated")
    return LoadResult(
        staged.file,
        table.name,
        load_id,
        staged.rows_read,
        loaded,
        rejected,
        [tuple(r) for r in reasons],
        rows_failed=failed,
        joined=staged.accounting_only,
    )


def merge(con, table: Table, replace_key: tuple[str, ...] | None = None) -> None:
    """Replace rows with the same key (or the same `replace_key`, a part of it) by the accepted
    rows of `_validated`, add the new ones."""
    cols = ", ".join(quote_ident(c) for c in table.column_names)
    key_match = " and ".join(
        f"{table.name}.{quote_ident(k)} is not distinct from new.{quote_ident(k)}"
        for k in replace_key or table.key
    )
    con.execute(f"""delete from main.{table.name} where exists (
        select 1 from _validated as new where new._reason is null and {key_match})""")
    extra_cols, extra_vals = "", ""
    if table.name == "deals":  # status is derived from the stage kind by `finalize`
        extra_cols, extra_vals = ", status", ", 'open'"
    values = ", ".join(
        f"coalesce({quote_ident(c.name)}, {c.default})" if c.default else quote_ident(c.name)
        for c in table.columns
    )
    con.execute(
        f"insert into main.{table.name} ({cols}{extra_cols}) "
        f"select {values}{extra_vals} from _validated where _reason is null"
    )


def finalize(con: duckdb.DuckDBPyConnection) -> None:
    """Derive what no export states: deal status from the stage kind, missing close times from
    the history, and a flagged synthetic history row for every deal that has none."""
    con.execute(sql_text("load/finalize"))
