"""Any CSV or XLSX of deals, described by a small YAML mapping file.

source_format: maven_crm          # a label kept in `loads`
time_zone: UTC                    # the zone of the file's timestamps
date_formats: ["%Y-%m-%d"]        # optional; ISO and common ru/en formats are tried anyway
decimal: "."                      # "," for `1 234,56`
pipeline: {id: maven, name: Maven CRM}
stages:                           # funnel order; kind is open unless said
  - Prospecting
  - Engaging
  - {name: Won, kind: won}
  - {name: Lost, kind: lost}
deals:
  file: sales_pipeline.csv        # found in the data directory (default: beside the mapping)
  join: {file: more.csv, key: id} # optional: one more row per deal from another file
  currency: USD                   # optional constant
  columns:                        # canonical column: source column, or {sql: ...}, {value: ...}
    deal_id: opportunity_id
    stage: deal_stage             # stage names as listed above
    owner: sales_agent            # owner's name; users are made from the names
    created_at: engage_date
    closed_at: close_date
    amount: close_value
users:                            # optional: more about the owners
  file: sales_teams.csv
  columns: {name: sales_agent, team: manager}

A mapping is configuration, not a program. Its files are found inside the data folder given to
`load` (or beside the mapping), never outside it. An `{sql: ...}` is one scalar expression over the
file's own columns — `nullif(trim(amount), '')::decimal * 1000`, `coalesce(won_on, lost_on)` —
checked on DuckDB's parse tree (no subquery, table function, aggregate, window or `*`; no `;`),
and evaluated on a connection of its own that can reach no file or network and whose settings
are locked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import duckdb

from crmkit.contract import KINDS, TABLES
from crmkit.errors import CrmkitError, read_yaml_fields
from crmkit.importers.base import (
    DEFAULT_DATE_FORMATS,
    ReadOptions,
    Staged,
    check_columns,
    quote_ident,
    quote_literal,
)
from crmkit.importers.files import read_text_table

FORMAT = "mapping"
DEAL_FIELDS = (
    "deal_id",
    "stage",
    "owner",
    "title",
    "amount",
    "currency",
    "source",
    "created_at",
    "closed_at",
    "loss_reason",
    "client",
)
REQUIRED_FIELDS = ("deal_id", "stage")


class Mapping:
    """A parsed mapping file; every mistake in it is reported with the field it concerns."""

    def __init__(self, path: Path, data_dir: Path | None = None):
        self.path = Path(path)
        spec = read_yaml_fields(self.path, "mapping")
        self.spec = spec
        self.data_dir = Path(data_dir) if data_dir else self.path.parent
        self.source_format = str(spec.get("source_format", "mapping"))
        formats = spec.get("date_formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            self._fail(f'date_formats must be a list of formats such as ["%d.%m.%Y"], not {formats!r}')
        for layout in formats:
            try:
                duckdb.execute("select try_strptime('2000-01-01', ?)", [layout])
            except duckdb.Error:
                self._fail(
                    f"date_formats: {layout!r} is not a date format; write it with %d %m %Y %H %M %S "
                    "(e.g. \"%d.%m.%Y %H:%M\")"
                )
        self.options = ReadOptions(
            time_zone=str(spec.get("time_zone", "UTC")),
            date_formats=tuple(formats) + DEFAULT_DATE_FORMATS,
            decimal=str(spec.get("decimal", ".")),
            explicit_dates=bool(spec.get("date_formats")),
            ask_day_or_month=True,
        )
        pipeline = self._need(spec, "pipeline", dict)
        self.pipeline_id = str(self._need(pipeline, "id", (str, int), "pipeline.id"))
        self.pipeline_name = str(pipeline.get("name", self.pipeline_id))
        self.stages = self._stages(self._need(spec, "stages", list))
        self.deals = self._need(spec, "deals", dict)
        self.deal_columns = self._need(self.deals, "columns", dict, "deals.columns")
        for name in self.deal_columns:
            if name not in DEAL_FIELDS:
                self._fail(f"deals.columns.{name} is not a deal field; use {', '.join(DEAL_FIELDS)}")
        for name in REQUIRED_FIELDS:
            if name not in self.deal_columns:
                self._fail(f"deals.columns.{name} is missing (which column holds the {name}?)")
        self.users = spec.get("users")

    def _fail(self, message: str):
        raise CrmkitError(f"mapping {self.path.name}: {message}")

    def _need(self, where: dict, key: str, kind, label: str | None = None):
        if key not in where:
            self._fail(f"{label or key} is missing")
        if not isinstance(where[key], kind):
            self._fail(f"{label or key} has the wrong form: {where[key]!r}")
        return where[key]

    def _stages(self, items: list) -> list[tuple[str, str]]:
        stages = []
        for i, item in enumerate(items, 1):
            name, kind = (
                (item, "open") if not isinstance(item, dict) else (item.get("name"), item.get("kind", "open"))
            )
            if not name or kind not in KINDS:
                self._fail(f"stages[{i}] needs a name and a kind of {', '.join(KINDS)}: {item!r}")
            stages.append((str(name), kind))
        if not any(kind != "open" for _, kind in stages):
            self._fail("stages: no stage has kind won or lost, so no deal could ever close")
        return stages

    def file(self, section: dict, label: str) -> Path:
        """The file a section names, inside the data folder: a mapping reads nothing else."""
        name = self._need(section, "file", str, f"{label}.file")
        folder = self.data_dir.resolve()
        path = (folder / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(folder):
            self._fail(
                f"{label}.file {name!r} is outside the data folder {self.data_dir}; a mapping reads only "
                "files in the folder given to `crmkit load` (or beside the mapping): name the file there"
            )
        return path


def _expr(spec, label: str, mapping: Mapping) -> tuple[str, list[str]]:
    """SQL for one mapped field over the source's text columns, and the columns it reads."""
    if isinstance(spec, str):
        return f"src.{quote_ident(spec)}", [spec]
    if isinstance(spec, dict) and "sql" in spec:
        return f"src.{quote_ident(SQL_PREFIX + label)}", []  # computed by _sandboxed
    if isinstance(spec, dict) and "value" in spec:
        return quote_literal(str(spec["value"])), []
    mapping._fail(f"{label}: give a column name, {{sql: ...}} or {{value: ...}}, not {spec!r}")


SQL_PREFIX = "_sql "
_NOT_SCALAR = {"SUBQUERY": "a subquery", "STAR": "*", "WINDOW": "a window function"}


def _scalar_expression(text, columns: list[str], label: str, mapping: Mapping, file_name: str) -> str:
    """A mapping's `sql:` as one scalar expression over `columns`, checked on DuckDB's parse tree,
    or a one-line error saying what it may be."""
    if not isinstance(text, str) or not text.strip():
        mapping._fail(f"{label}: sql needs an expression over the file's columns, not {text!r}")
    what = f"{label}: the sql expression {text[:80]!r}"
    if ";" in text:
        mapping._fail(f"{what} holds ';': a mapping takes one expression, not statements")
    parsed = json.loads(
        duckdb.execute("select json_serialize_sql(?)", [f"select ({text}) from src"]).fetchone()[0]
    )
    if parsed.get("error"):
        mapping._fail(f"{what} is not an expression DuckDB reads: {parsed.get('error_message', '')[:120]}")
    node = parsed["statements"][0]["node"] if len(parsed["statements"]) == 1 else {}
    source = node.get("from_table") or {}
    alone = (
        node.get("type") == "SELECT_NODE" and len(node.get("select_list", [])) == 1
        and source.get("type") == "BASE_TABLE" and source.get("table_name") == "src"
        and not source.get("schema_name") and not source.get("catalog_name")
        and not any(node.get(k) for k in ("where_clause", "group_expressions", "having", "qualify"))
        and not node.get("modifiers")
        and not (node.get("cte_map") or {}).get("map")
    )  # fmt: skip
    if not alone:
        mapping._fail(f"{what} reaches beyond one expression over {file_name}'s columns")
    aggregates = _aggregate_names()
    for item in _tree(node["select_list"][0]):
        kind = item.get("class")
        if kind in _NOT_SCALAR or (kind == "FUNCTION" and item.get("function_name") in aggregates):
            found = _NOT_SCALAR.get(kind) or f"the aggregate {item['function_name']}()"
            mapping._fail(f"{what} uses {found}; a mapping takes one value per row from that row's columns")
        if kind == "FUNCTION" and (item.get("schema") or item.get("catalog")):
            mapping._fail(f"{what} names a function by its schema; use DuckDB's own functions")
        if kind == "COLUMN_REF":
            names = item["column_names"]
            column = names[-1] if len(names) == 1 or names[:-1] == ["src"] else ".".join(names)
            if column not in columns:
                mapping._fail(
                    f"{what} names {column!r}, which is not a column of {file_name} "
                    f"(columns: {', '.join(map(repr, columns))})"
                )
    return text


def _sql_fields(columns_spec: dict, section: str, readable: list[str], raw, mapping: Mapping) -> dict:
    """The section's `sql:` fields, each checked: label -> expression."""
    return {
        f"{section}.columns.{name}": _scalar_expression(
            field["sql"], readable, f"{section}.columns.{name}", mapping, raw.path.name
        )
        for name, field in columns_spec.items()
        if isinstance(field, dict) and "sql" in field
    }


def _tree(item) -> list[dict]:
    """Every expression node of a serialised parse tree."""
    if isinstance(item, list):
        return [found for child in item for found in _tree(child)]
    if not isinstance(item, dict):
        return []
    own = [item] if "class" in item else []
    return own + [found for child in item.values() for found in _tree(child)]


@cache
def _aggregate_names() -> frozenset[str]:
    rows = duckdb.execute(
        "select distinct function_name from duckdb_functions() where function_type = 'aggregate'"
    ).fetchall()
    return frozenset(name for (name,) in rows) | {"count_star"}


def _sandboxed(con, source: str, expressions: dict[str, str], file_name: str, mapping: Mapping) -> str:
    """The `sql:` fields computed on a connection that can read, write or fetch nothing and whose
    settings are locked; the rows come back as columns `_sql <field>` of a new relation."""
    rows = con.sql(f"select * from {source}").to_arrow_table()
    sandbox = duckdb.connect(":memory:", config={
        "enable_external_access": False, "python_enable_replacements": False, "lock_configuration": True,
    })  # fmt: skip
    try:
        sandbox.register("src", rows)
        computed = ", ".join(f"({sql}) as {quote_ident(SQL_PREFIX + k)}" for k, sql in expressions.items())
        try:
            values = sandbox.sql(f"select _row, {computed} from src").to_arrow_table()
        except duckdb.Error as exc:
            mapping._fail(
                f"an sql expression ({', '.join(expressions)}) does not run on {file_name}: "
                f"{str(exc).splitlines()[0]}"
            )
    finally:
        sandbox.close()
    view = f"{source}_sql"
    con.register(f"{view}_values", values)
    picked = ", ".join(f"v.{quote_ident(SQL_PREFIX + label)}" for label in expressions)
    con.execute(f"""create or replace temp table {view} as
        select src.*, {picked} from {source} as src join {view}_values as v on v._row = src._row""")
    con.unregister(f"{view}_values")
    return view


def _values_view(con, name: str, columns: list[str], rows: list[list]) -> str:
    values = ", ".join(
        "(" + ", ".join("null" if v is None else quote_literal(str(v)) for v in row) + ")" for row in rows
    )
    cols = ", ".join(quote_ident(c) for c in columns)
    con.execute(f"create or replace temp view {name} as select * from (values {values}) as t({cols})")
    return name


def stage(
    con,
    paths: list[Path],
    options: ReadOptions | None = None,
    *,
    mapping: Path,
) -> list[Staged]:
    """Stage the files a mapping describes. `paths` (optional) is the data directory."""
    data_dir = paths[0] if paths else None
    if data_dir is not None and data_dir.is_file():
        data_dir = data_dir.parent
    spec = Mapping(mapping, data_dir)
    staged: list[Staged] = []

    # Pipeline and stages come from the mapping itself: its rows are the YAML's entries.
    pipe_rows = [[1, "mapping: pipeline", spec.pipeline_id, spec.pipeline_name]]
    pipes = _values_view(con, "_map_pipelines", ["_row", "_raw", "pipeline_id", "name"], pipe_rows)
    staged.append(Staged("pipelines", spec.path, pipes, 1))
    stage_rows = [
        [i, f"mapping: stage {name}", spec.pipeline_id, name, name, i, kind]
        for i, (name, kind) in enumerate(spec.stages, 1)
    ]
    stages = _values_view(
        con,
        "_map_stages",
        ["_row", "_raw", "pipeline_id", "stage_id", "name", "position", "kind"],
        stage_rows,
    )
    staged.append(Staged("stages", spec.path, stages, len(stage_rows)))

    deals_raw = read_text_table(con, spec.file(spec.deals, "deals"), decimal=spec.options.decimal)
    source = deals_raw.relation
    join = spec.deals.get("join")
    joined_columns: list[str] = []
    other = None
    if join:
        key = spec._need(join, "key", str, "deals.join.key")
        other = read_text_table(con, spec.file(join, "deals.join"), decimal=spec.options.decimal)
        for raw, where in ((deals_raw, "deals.file"), (other, "deals.join.file")):
            if key not in raw.columns:
                spec._fail(
                    f"{where} {raw.path.name} has no column {key!r} to join on; "
                    f"found: {', '.join(raw.columns)}"
                )
        joined_columns = [c for c in other.columns if c not in deals_raw.columns]
        picked = ", ".join(f"first_row.{quote_ident(c)}" for c in joined_columns)
        # One joined row per key (the first): more would multiply deals. Picked by `min(_row)`,
        # not `qualify row_number() = 1`: DuckDB 2.0 rewrites that over a row number read from
        # the rowid into a plan that fails ("access index -1").
        con.execute(f"""
            create or replace temp view {source}_joined as
            with first_row as (
                select * from {other.relation}
                where _row in (select min(_row) from {other.relation} group by {quote_ident(key)})
            )
            select src.*, {picked} from {source} as src
            left join first_row on first_row.{quote_ident(key)} = src.{quote_ident(key)}
        """)
        source = f"{source}_joined"
        # Every row of the joined file is accounted for: used, or rejected saying why not.
        con.execute(f"""
            create or replace temp view {other.relation}_use as
            select _row, _raw, case
                when {quote_ident(key)} is null then {quote_literal(key + " is missing")}
                when row_number() over (partition by {quote_ident(key)} order by _row) > 1
                    then {quote_literal(key + " ")} || {quote_ident(key)}
                         || ' repeats an earlier row: only the first is joined'
                when {quote_ident(key)} not in (select {quote_ident(key)} from {deals_raw.relation}
                                                where {quote_ident(key)} is not null)
                    then {quote_literal(key + " ")} || {quote_ident(key)}
                         || {quote_literal(" not found in " + deals_raw.path.name)}
            end as _reason
            from {other.relation}
        """)
        joined_file = Staged(
            "deals",
            other.path,
            f"{other.relation}_use",
            other.rows_read,
            other.broken_rows,
            accounting_only=True,
        )

    reads: dict[str, str] = {}
    for name, field_spec in spec.deal_columns.items():
        expr, columns = _expr(field_spec, f"deals.columns.{name}", spec)
        reads[name] = expr
        for column in columns:
            if column not in deals_raw.columns + joined_columns:
                looked_in = f"{deals_raw.path.name} (columns: {', '.join(map(repr, deals_raw.columns))})"
                if other is not None:
                    joined = ", ".join(map(repr, other.columns))
                    looked_in = f"neither {looked_in} nor the joined {other.path.name} (columns: {joined})"
                raise CrmkitError(
                    f"mapping {spec.path.name}: deals.columns.{name} names the column {column!r}, which is "
                    f"in {looked_in}; write one of these names under deals.columns.{name}"
                )
    expressions = _sql_fields(spec.deal_columns, "deals", deals_raw.columns + joined_columns, deals_raw, spec)
    if expressions:
        source = _sandboxed(con, source, expressions, deals_raw.path.name, spec)
    if "currency" not in reads and "currency" in spec.deals:
        reads["currency"] = quote_literal(str(spec.deals["currency"]))

    # Users: the users file if given, plus every owner name it does not list.
    owner = reads.get("owner")
    listed = None
    if spec.users:
        users_raw = read_text_table(con, spec.file(spec.users, "users"), decimal=spec.options.decimal)
        user_cols = spec._need(spec.users, "columns", dict, "users.columns")
        if "name" not in user_cols:
            spec._fail("users.columns.name is missing (which column holds the user's name?)")
        check_columns(
            users_raw.columns,
            TABLES["users"],
            users_raw.path,
            mapped={k: v for k, v in user_cols.items() if isinstance(v, str)},
        )
        fields = {k: _expr(v, f"users.columns.{k}", spec)[0] for k, v in user_cols.items()}
        users_source = users_raw.relation
        expressions = _sql_fields(user_cols, "users", users_raw.columns, users_raw, spec)
        if expressions:
            users_source = _sandboxed(con, users_source, expressions, users_raw.path.name, spec)
        view = f"{users_raw.relation}_users"
        con.execute(f"""create or replace temp view {view} as
            select _row, _raw, {fields["name"]} as user_id, {fields["name"]} as name,
                   {fields.get("team", "null")} as team, {fields.get("is_active", "null")} as is_active
            from {users_source} as src""")
        staged.append(Staged("users", users_raw.path, view, users_raw.rows_read, users_raw.broken_rows))
        listed = view
    if owner:
        unlisted = (
            f"and owner not in (select user_id from {listed} where user_id is not null)" if listed else ""
        )
        view = f"{source}_owners"
        con.execute(f"""create or replace temp view {view} as
            with owners as (
                select distinct nullif(trim({owner}), '') as owner from {source} as src
            )
            select row_number() over (order by owner) as _row, to_json({{'owner': owner}})::varchar as _raw,
                   owner as user_id, owner as name, null as team, null as is_active
            from owners where owner is not null {unlisted}""")
        count = con.execute(f"select count(*) from {view}").fetchone()[0]
        staged.append(Staged("users", deals_raw.path, view, count))

    select = {
        "deal_id": reads["deal_id"],
        "pipeline_id": quote_literal(spec.pipeline_id),
        "stage_id": f"trim({reads['stage']})",
        "owner_id": owner or "null",
    }
    for name in ("title", "client", "amount", "currency", "source", "created_at", "closed_at", "loss_reason"):
        select[name] = reads.get(name, "null")
    deals_view = f"{source}_deals"
    con.execute(f"""create or replace temp view {deals_view} as
        select _row, _raw, {", ".join(f"{expr} as {quote_ident(n)}" for n, expr in select.items())}
        from {source} as src""")
    staged.append(Staged("deals", deals_raw.path, deals_view, deals_raw.rows_read, deals_raw.broken_rows))
    if join:
        staged.append(joined_file)
    return staged
