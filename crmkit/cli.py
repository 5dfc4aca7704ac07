"""crmkit: load CRM exports into one DuckDB database, then compute metrics and render reports —
`sample`, `load`, `pull`, `metrics`, `report`, `audit`, `schedule`, `export`; a thin wrapper over
the Python API. `crmkit COMMAND --help` for each."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from crmkit.errors import CrmkitError
from crmkit.paths import DEFAULT_DB, REPORTS_DIR, SAMPLE_DIR


def cmd_sample(args) -> int:
    from crmkit import sample

    counts = sample.write_sample(args.deals, args.out, seed=args.seed, end=args.end)
    print(f"sample written to {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


def cmd_load(args) -> int:
    from crmkit.importers import pulls_of

    raw = [pulls_of(Path(p)) for p in args.paths]
    if any(raw):
        return _load_raw_folder(args, raw)
    with _database(args.db) as con:
        _print_loads(_load_into(con, args, args.paths))
    return 0


@contextmanager
def _database(db: Path):
    """The database a load writes into; one that the load created is removed again when the load
    is refused, so no empty database is left behind for `metrics` to read."""
    from crmkit.db import connect

    new = not Path(db).exists()
    con = connect(db)
    try:
        yield con
    except BaseException:
        con.close()
        if new:
            for leftover in (Path(db), Path(f"{db}.wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()


def _load_into(con, args, paths):
    from crmkit.importers import load

    return load(
        con,
        paths,
        fmt=args.format,
        mapping_file=args.mapping,
        time_zone=args.tz,
        force=args.force,
        rates_file=args.rates,
        encoding=args.encoding,
        append=args.append,
    )


def _load_raw_folder(args, raw) -> int:
    """A CRM's raw folder rebuilds the account: every complete pull loaded in order, as `pull
    --load` loaded each, the cursor of each kept in its loads (a later pull asks for what changed
    after the last), the cursor file and an unfinished pull left aside and named."""
    from crmkit.importers import pull_began
    from crmkit.pull.base import OVERLAP_SECONDS

    if len(args.paths) > 1:
        folder = args.paths[[bool(r) for r in raw].index(True)]
        raise CrmkitError(f"{folder} is a CRM's raw folder of pulls: load it on its own")
    folder, pulls = Path(args.paths[0]), raw[0]
    with _database(args.db) as con:
        for pull in pulls:
            last = con.execute("select coalesce(max(load_id), 0) from main.loads").fetchone()[0]
            print(f"{pull.name}:")
            _print_loads(_load_into(con, args, [pull]))
            con.execute("update main.loads set pull_cursor = ? where load_id > ?",
                        [pull_began(pull) - OVERLAP_SECONDS, last])  # fmt: skip
    aside = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p not in pulls)
    note = f"; left aside: {', '.join(aside)}" if aside else ""
    print(f"{folder}: {len(pulls)} pull{'s' if len(pulls) > 1 else ''} loaded in order{note}")
    return 0


def _print_loads(results) -> None:
    """Each file read = loaded + rejected, the commonest reasons, and the totals by table."""
    for r in results:
        if r.load_id is None:
            print(f"{r.file.name} [{r.table}]: already loaded (same file), nothing changed")
            continue
        verb = "joined into deals" if r.joined else "loaded"
        print(
            f"{r.file.name} [{r.table}]: read {r.rows_read:,} = {verb} {r.rows_loaded:,} "
            f"+ rejected {r.rows_rejected:,}"
        )
        for kind, count, example in r.top_reasons:
            print(f"    {count:,} × {kind}" + (f" (e.g. {example})" if example != kind else ""))
    totals: dict[str, list[int]] = {}
    for r in results:
        if r.load_id is not None and not r.joined:  # a joined file's rows are the deals' rows
            sums = totals.setdefault(r.table, [0, 0, 0])
            for i, n in enumerate((r.rows_read, r.rows_loaded, r.rows_rejected)):
                sums[i] += n
    if totals:
        print("by table:")
        for table, (read, loaded, rejected) in totals.items():
            print(f"  {table:<14} read {read:>9,}  loaded {loaded:>9,}  rejected {rejected:>7,}")
    for path, why in getattr(results, "not_read", {}).items():
        print(f"not read: {path.name} — {why}")


def cmd_pull(args) -> int:
    from rich.progress import Progress, TextColumn

    from crmkit.pull import CRMS
    from crmkit.pull.base import FOLDER, Limits

    with Progress(TextColumn("{task.description}"), transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(resource: str, pages: int, records: int, waited: float) -> None:
            if resource not in tasks:
                tasks[resource] = bar.add_task(resource)
            waits = f"; waited {waited:.1f} s for the API so far" if waited else ""
            line = f"{resource}: {pages:,} pages, {records:,} records{waits}"
            bar.update(tasks[resource], description=line)

        if not args.base_url and args.crm in ("amocrm", "bitrix24", "salesforce"):
            raise CrmkitError(f"{args.crm} needs --base-url: the account's own address")
        since, last_load = _pull_cursor(args.db, args.crm) if args.load else (FOLDER, 0)
        limits = Limits(max_pages=args.max_pages)
        pulled = CRMS[args.crm].run(args.out, args.base_url, progress=progress, since=since, limits=limits)
    since = ""
    if pulled.since is not None:
        since = datetime.fromtimestamp(pulled.since, UTC).strftime("%Y-%m-%d %H:%M")
    counts = ", ".join(f"{name} {pulled.records.get(name, 0):,}" for name in pulled.pages)
    print(
        f"{args.crm}: {f'changes since {since} UTC' if since else 'everything'}; {counts}; "
        f"waited {pulled.waits:.1f} s for the API; written to {pulled.folder}"
    )
    if not args.load:
        return 0
    if not getattr(CRMS[args.crm], "loadable", lambda folder: True)(pulled.folder):
        print(f"{args.crm}: nothing changed that can be loaded")
        return 0
    args.paths, args.format, args.mapping, args.force = [pulled.folder], args.crm, None, False
    args.rates, args.encoding, args.append = None, None, False
    code = cmd_load(args)
    if code == 0:  # the next pull asks for what changed after this one
        from crmkit.db import connect

        con = connect(args.db)
        con.execute("update main.loads set pull_cursor = ? where source_format = ? and load_id > ?",
                    [pulled.next_since, args.crm, last_load])  # fmt: skip
        con.close()
    return code


def _pull_cursor(db: Path, crm: str) -> tuple[int | None, int]:
    """The cursor the database's loads keep for this CRM (None: never pulled into it), and its
    last load id (the loads after it are the pull's)."""
    if not Path(db).exists():
        return None, 0
    from crmkit.db import connect

    con = connect(db)
    since, last = con.execute(
        "select max(pull_cursor) filter (source_format = ?), coalesce(max(load_id), 0) from main.loads", [crm]
    ).fetchone()
    con.close()
    return since, last


def cmd_schedule(args) -> int:
    from crmkit.schedule import addresses, cron_lines, install

    pull = None
    if args.pull:
        if not args.raw or (not args.base_url and args.pull in ("amocrm", "bitrix24", "salesforce")):
            raise CrmkitError("--pull needs --raw (where pulls are written) and the account's --base-url")
        pull = {"crm": args.pull, "base_url": args.base_url, "out": args.raw, "tz": args.tz}
    if args.mail:
        addresses(args.mail)
    lines = cron_lines(db=args.db, out=args.out, lang=args.lang, pull=pull, mail=args.mail or "")
    if args.install:
        install(lines)
        print(f"installed in your crontab ({len(lines) - 2} lines between the crmkit markers)")
    else:
        print("\n".join(lines))
    return 0


def cmd_export(args) -> int:
    from crmkit.db import connect, export_parquet

    con = connect(args.db, read_only=True)
    try:
        written = export_parquet(con, args.parquet)
    except OSError as exc:
        raise CrmkitError(f"--parquet {args.parquet}: cannot write there ({exc.strerror or exc})") from exc
    finally:
        con.close()
    print(f"{args.parquet}: " + ", ".join(f"{table} {n:,}" for table, n in written.items()))
    return 0


def cmd_metrics(args) -> int:
    from crmkit import metrics

    if args.list or not args.name:
        width = max(map(len, metrics.REGISTRY))
        for name, (_, description) in sorted(metrics.REGISTRY.items()):
            print(f"{name:<{width}}  {description}")
        return 0
    from crmkit.db import connect

    if not args.as_of:
        raise CrmkitError("--as-of DATE is required (e.g. --as-of 2026-11-01): metrics never read the clock")
    if args.csv is not None:
        writable_file(args.csv, "--csv")
    con = connect(args.db, read_only=True)
    frame = metrics.compute(
        args.name,
        con,
        as_of=args.as_of,
        period_start=args.period_start,
        pipeline=args.pipeline,
        owner=args.owner,
        **dict(args.param or []),
    )
    if args.csv:
        spreadsheet_safe(frame).to_csv(args.csv, index=False)
        print(f"{args.name}: {len(frame):,} rows written to {args.csv}")
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 200):
            print(frame.to_string(index=False))
    return 0


def spreadsheet_safe(frame):
    """Text cells a spreadsheet would run as formulas get a leading apostrophe (inert.spreadsheet_text);
    numbers are left as they are."""
    from crmkit.inert import spreadsheet_text

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith(("string", "str")):
            out[column] = out[column].map(spreadsheet_text)
    return out


def writable_file(path: Path, option: str) -> None:
    """Check an output file's place before any work (not after 40 s of rendering)."""
    if path.is_dir():
        raise CrmkitError(f"{option} {path}: a folder; give a file name in it, e.g. {path / 'out'}")
    if not path.parent.exists():
        raise CrmkitError(f"{option} {path}: the folder {path.parent} does not exist; create it first")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, not {text!r}")
    return value


def cmd_report(args) -> int:
    from crmkit.render import Run, month_range, render_batch, week_window

    if args.mail:
        from crmkit.schedule import addresses

        addresses(args.mail)
    dbs = [Path(db) for db in args.db]
    missing = [db for db in dbs if not db.exists()]
    if missing:
        raise CrmkitError(f"database {missing[0]} does not exist: build it with `crmkit load` first")
    if args.week:
        chosen = {db: [week_window(args.week)] for db in dbs}
    elif args.month:
        months = month_range(args.month)
        for db in dbs:  # a month the data does not reach is refused before any work, with its span
            span = _readable(data_months, db)
            if span and (months[-1][1] < span[0] or months[0][1] > span[1]):
                raise CrmkitError(
                    f"--month {args.month}: {db.name} holds data from {span[0]} to {span[1]}; choose a "
                    f"month in that span (or leave --month out for {span[1]}, its last)"
                )
        chosen = dict.fromkeys(dbs, months)
    elif args.as_of:
        chosen = dict.fromkeys(dbs, [(args.as_of, pd_date(args.as_of))])
    else:  # the last month each database reaches: a batch of clients, each its own
        last = {db: _readable(latest_month, db) for db in dbs}
        known = [month for month in last.values() if month]
        if not known:  # none can be read: say why, for the first
            latest_month(dbs[0])
        # a database that cannot be read is tried at the others' month: its jobs fail, the rest render
        chosen = {db: month_range(last[db] or known[0]) for db in dbs}
    runs = [Run(db, as_of, period) for db, periods in chosen.items() for as_of, period in periods]
    periods = [period for db_periods in chosen.values() for period in db_periods]
    results = render_batch(
        runs,
        out_root=Path(args.out),
        lang=args.lang,
        names=args.notebooks,
        jobs=args.jobs,
        extra={"owner": args.owner, "pipeline": args.pipeline, **dict(args.param or [])},
        per_client=len(dbs) > 1,
        cluster=args.cluster,
    )
    for r in results:
        where = r.folder.relative_to(Path(args.out)) if r.folder else ""
        if r.error:
            print(f"{where}/{r.notebook}: FAILED — {r.error}", file=sys.stderr)
        else:
            print(f"{where}/{r.notebook}: {r.html}")
    failed = [r for r in results if r.error]
    print(
        f"{len(results) - len(failed)} rendered, {len(failed)} failed; index: {Path(args.out) / 'index.html'}"
    )
    if args.mail:
        from crmkit.schedule import send

        files = [Path(args.out) / "index.html"] + [r.html for r in results if r.html is not None]
        names = ", ".join(dict.fromkeys(period for _, period in periods))
        body = "\n".join(f"{r.notebook}: {'FAILED — ' + r.error if r.error else 'attached'}" for r in results)
        sent = send(args.mail, f"crmkit reports {names}", body, files)
        print(f"mailed {sent} files to {args.mail}")
    return 1 if failed else 0


def pd_date(text: str) -> str:
    import pandas as pd

    try:
        return f"{pd.Timestamp(text):%Y-%m-%d}"
    except ValueError as exc:
        raise CrmkitError(f"--as-of wants a date, not {text!r}") from exc


def cmd_audit(args) -> int:
    from crmkit.bundle import build
    from crmkit.render import month_window

    as_of = args.as_of or (month_window(args.month)[0] if args.month else "")
    writable_file(args.out, "--out")
    if args.logo is not None and not args.logo.is_file():
        raise CrmkitError(f"--logo {args.logo}: not an image file (give a PNG, JPEG or SVG)")
    out = build(
        args.db,
        args.out,
        client=args.client,
        as_of=as_of,
        lang=args.lang,
        author=args.author,
        logo=args.logo,
        jobs=args.jobs,
        pdf=args.out.with_suffix(".pdf") if args.pdf else None,
        workbook=args.out.with_suffix(".xlsx") if args.xlsx else None,
        say=lambda line: print(f"audit: {line}", file=sys.stderr, flush=True),
    )
    written = [out] + [out.with_suffix(s) for s, on in ((".pdf", args.pdf), (".xlsx", args.xlsx)) if on]
    print(f"audit for {args.client}: " + ", ".join(map(str, written)))
    return 0


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    for number in (int, float):
        try:
            return key, number(value)
        except ValueError:
            pass
    return key, value


def _readable(read, db: Path):
    """`read(db)`, or None for a database that cannot be opened (its jobs fail on their own and
    the batch goes on)."""
    try:
        return read(db)
    except CrmkitError:
        return None


def data_months(db: Path) -> tuple[str, str]:
    """The first and last month (YYYY-MM) of the deals' dates and every event a database holds."""
    return _months(db, first=True)


def latest_month(db: Path) -> str:
    return _months(db, first=False)[1]


def _months(db: Path, *, first: bool) -> tuple[str, str]:
    """(the first month of the deals' dates — the last month when not asked for —, the last
    month of any event), read on one connection."""
    from crmkit.db import connect, query

    con = connect(db, read_only=True)
    try:
        latest = query(con, "metrics/data_freshness")["latest_at"].max()
        start = query(con, "metrics/data_span")["first_at"].iloc[0] if first else None
    finally:
        con.close()
    if latest is None or str(latest) == "NaT":
        raise CrmkitError(f"{db} holds no dated events: load data first")
    last = f"{latest:%Y-%m}"
    return (f"{start:%Y-%m}" if start is not None and str(start) != "NaT" else last), last


PULLS = ("amocrm", "bitrix24", "hubspot", "pipedrive", "salesforce")  # crmkit.pull.CRMS, not imported here


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default, where it has one worth saying."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS, [], "")
        if shown and "default" not in text and action.option_strings:
            default = action.default
            default = ", ".join(map(str, default)) if isinstance(default, list) else default
            text += f" (default: {default})"
        return text


def parser() -> argparse.ArgumentParser:
    from crmkit import __version__

    top = argparse.ArgumentParser(prog="crmkit", description=__doc__, formatter_class=_Help)
    top.add_argument("--version", action="version", version=f"crmkit {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    class Sub:  # every command's help formatted alike
        @staticmethod
        def add_parser(name, **kwargs):
            return commands.add_parser(name, formatter_class=_Help, **kwargs)

    sub = Sub()

    p = sub.add_parser("sample", help="write the synthetic sample CRM (canonical CSV layout)")
    p.add_argument("--deals", type=int, default=3000, help="number of deals")
    p.add_argument("--seed", type=int, default=42, help="random seed: the same seed writes the same sample")
    p.add_argument("--end", default="2026-10-31", help="last day of the sample's history")
    p.add_argument(
        "--out", type=Path, default=SAMPLE_DIR, help="the folder to write (only one the sample made)"
    )
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("load", help="load CRM export files into the database")
    p.add_argument("paths", nargs="*", type=Path, help="files or directories")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "csv", "mapping", "amocrm", "bitrix24", "hubspot", "pipedrive", "salesforce"],
        help="the export's format (default: told from the files)",
    )
    p.add_argument("--mapping", type=Path, help="a YAML mapping file (any CSV/XLSX of deals)")
    p.add_argument("--tz", default="UTC", help="time zone of the export's timestamps")
    p.add_argument("--force", action="store_true", help="re-read files loaded before")
    p.add_argument(
        "--encoding", help="read the files in this encoding (e.g. koi8-r) when the detection gets it wrong"
    )
    p.add_argument(
        "--append",
        action="store_true",
        help="load into a database that holds another account (by default refused: one account per database)",
    )
    p.add_argument(
        "--rates",
        type=Path,
        help="currency rates (CSV: currency,date,rate — one unit in the reporting currency, "
        "which is listed at rate 1): amounts in other currencies are converted, never summed as they are",
    )
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("metrics", help="list metric tables, or print / save one")
    p.add_argument("name", nargs="?", help="the metric table (see --list)")
    p.add_argument("--list", action="store_true", help="list the metric tables with one line each")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument("--as-of", help="the moment the data is seen from (events before it count)")
    p.add_argument("--period-start", help="window start (default: 12 months before --as-of)")
    p.add_argument("--pipeline", help="one pipeline, by name or id")
    p.add_argument("--owner", help="one manager, by name or id")
    p.add_argument(
        "--csv",
        type=Path,
        help="write the table to this CSV instead of printing (text starting with = + - @ gets a "
        "leading ' so a spreadsheet shows it instead of running it as a formula)",
    )
    p.add_argument(
        "--param",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="a metric's own option, e.g. view=period, by=team, stage=..., reduction=0.3",
    )
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("pull", help="an account's records from the CRM's API into raw files (and load them)")
    p.add_argument("crm", choices=sorted(PULLS), help="the CRM to pull from")
    p.add_argument("--out", type=Path, required=True, help="the CRM's raw folder, e.g. data/raw/amocrm/")
    p.add_argument(
        "--base-url",
        help="the account's address: https://SUBDOMAIN.amocrm.ru, or Bitrix24's incoming webhook URL up to "
        "its secret code (https://PORTAL.bitrix24.ru/rest/1/; the code goes in CRMKIT_BITRIX24_TOKEN); "
        "Salesforce: the org's instance URL; HubSpot, Pipedrive: their API root by default",
    )
    p.add_argument("--load", action="store_true", help="then load what was pulled into --db")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument("--tz", default="UTC", help="the account's time zone (days and weeks are cut in it)")
    p.add_argument(
        "--max-pages",
        type=positive_int,
        default=20_000,
        help="pages of one list a pull asks for at most (default 20,000: 5 million amoCRM leads)",
    )
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("schedule", help="cron lines for the Monday KPI table and the monthly reports")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the reports go")
    p.add_argument("--lang", default="en", choices=["en", "ru"], help="the reports' language")
    p.add_argument("--pull", choices=sorted(PULLS), help="pull from this CRM before each run")
    p.add_argument("--base-url", help="the CRM account's address (with --pull)")
    p.add_argument("--raw", type=Path, help="where pulls are written (with --pull), e.g. data/raw/amocrm/")
    p.add_argument("--tz", default="UTC", help="the account's time zone (with --pull)")
    p.add_argument("--mail", metavar="TO", help="mail each run's reports to these addresses")
    p.add_argument(
        "--install", action="store_true", help="write the lines into your crontab (else print them)"
    )
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser(
        "export", help="write the database's tables as Parquet: reports and metrics read that folder as --db"
    )
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument("--parquet", type=Path, required=True, metavar="FOLDER", help="where <table>.parquet go")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="render the report notebooks to offline HTML")
    p.add_argument(
        "--db",
        type=Path,
        nargs="+",
        default=[DEFAULT_DB],
        help="one or more databases (one per client: reports/<database>/<period>/)",
    )
    p.add_argument(
        "--month",
        help="YYYY-MM or a range YYYY-MM..YYYY-MM: data as of each month's end (default: the last "
        "month each database's data reaches)",
    )
    p.add_argument("--as-of", help="instead of --month: an exact moment")
    p.add_argument("--week", help="YYYY-MM-DD, a Monday: data as of the Monday after; reports/<YYYY-Www>/")
    p.add_argument("--lang", default="en", choices=["en", "ru"], help="the reports' language")
    p.add_argument("--out", type=Path, default=REPORTS_DIR, help="where the reports go")
    p.add_argument("--notebooks", nargs="*", help="only these notebooks (e.g. 01)")
    p.add_argument("--owner", help="one manager's reports (a sub-folder per manager)")
    p.add_argument("--pipeline", help="one pipeline's reports (a sub-folder per pipeline)")
    p.add_argument(
        "--param",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="any other notebook parameter, e.g. view=period, whatif_reduction=0.3",
    )
    p.add_argument("--jobs", type=positive_int, help="reports rendered in parallel (default: cores)")
    p.add_argument(
        "--mail", metavar="TO", help="send the index and the reports to these addresses (SMTP: CRMKIT_SMTP_*)"
    )
    p.add_argument(
        "--cluster",
        default=os.environ.get("CRMKIT_CLUSTER") or None,
        metavar="ADDRESS",
        help="render on a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786 (default: $CRMKIT_CLUSTER, "
        "else this machine); its workers must see the databases and --out at the same paths",
    )
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("audit", help="one self-contained HTML of every report for a client (the deliverable)")
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help="the crmkit database")
    p.add_argument("--client", required=True, help="the client's name, on the cover")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--lang", default="en", choices=["en", "ru"], help="the reports' language")
    p.add_argument("--logo", type=Path, help="an image for the cover (embedded)")
    p.add_argument("--author", default="", help="who prepared it, on the cover")
    p.add_argument("--month", help="YYYY-MM: data as of that month's end")
    p.add_argument("--as-of", help="instead of --month: an exact moment")
    p.add_argument("--jobs", type=positive_int, default=2, help="reports rendered in parallel")
    p.add_argument("--pdf", action="store_true", help="also an A4 PDF beside it (same name, .pdf)")
    p.add_argument(
        "--xlsx", action="store_true", help="also the full deal lists as an Excel workbook (same name, .xlsx)"
    )
    p.set_defaults(func=cmd_audit)
    return top


def main(argv: list[str] | None = None) -> int:
    from crmkit.schedule import load_env_file

    args = parser().parse_args(argv)
    load_env_file()  # secrets for cron, which has no shell's environment
    try:
        return args.func(args)
    except CrmkitError as exc:
        print(f"crmkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `crmkit metrics … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the disk is full, a folder cannot be written: the system's own words
        where = f" ({exc.filename})" if exc.filename else ""
        message = f"{exc.strerror or exc}{where}; free space or choose another place"
        print(f"crmkit: error: {message}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:  # e.g. no space left for the database, or it is locked by another process
        print(f"crmkit: error: the database: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
