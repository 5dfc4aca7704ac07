"""Notebooks to offline HTML: jupytext -> papermill (parameters) -> nbconvert, inputs hidden.

Everything runs in this one process (a kernel per notebook), reports in parallel across cores.
A failing notebook is named with its failing cell; the others still render.
"""

from __future__ import annotations

import html
import multiprocessing
import os
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.i18n import scoped_title, t
from crmkit.paths import NOTEBOOKS_DIR

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Rendered:
    notebook: str
    html: Path | None
    error: str | None = None
    folder: Path | None = None  # the period folder, where index.html is


def notebooks(names: list[str] | None = None) -> list[Path]:
    """The report notebooks (`NN_topic.py`), in reading order, optionally only `names`."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if names:
        found = [p for p in found if p.stem in names or p.stem[:2] in names]
        if not found:
            raise CrmkitError(f"no notebook matches {', '.join(names)}")
    return found


# Parameters with an option of their own: `--param db_path=…` must not quietly beat `--db`.
OWN_OPTIONS = {"db_path": "--db", "as_of": "--month, --week or --as-of", "lang": "--lang"}


def declared_parameters(source: Path) -> list[str]:
    """The names the notebook's parameters cell declares (what papermill may set)."""
    import jupytext

    cell = next(c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", []))
    return re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cell.source, flags=re.M)


def check_parameters(sources: list[Path], extra: dict) -> None:
    """Only parameters the notebooks declare: papermill writes them into the notebook as code, so
    a key such as `__import__('os')…#` must never get there."""
    declared = sorted({name for source in sources for name in declared_parameters(source)})
    for key in extra:
        if key in OWN_OPTIONS:
            raise CrmkitError(f"--param {key}: set it with {OWN_OPTIONS[key]}, not --param")
        if key not in declared:
            allowed = ", ".join(k for k in declared if k not in OWN_OPTIONS)
            raise CrmkitError(f"--param {key!r}: no report takes it; the parameters are: {allowed}")


def month_window(month: str) -> tuple[str, str]:
    """'2026-10' -> (as_of '2026-11-01', the period label '2026-10')."""
    try:
        period = pd.Period(month, freq="M")
    except (ValueError, OverflowError) as exc:
        raise CrmkitError(f"--month wants YYYY-MM, not {month!r}") from exc
    if not 1970 <= period.year <= 2100:
        raise CrmkitError(f"--month {month}: a month from 1970 to 2100, as the data's dates are")
    return f"{(period + 1).start_time:%Y-%m-%d}", str(period)


def week_window(monday: str) -> tuple[str, str]:
    """'2026-10-19' (a Monday) -> (as_of '2026-10-26', the period label '2026-W43')."""
    try:
        start = pd.Timestamp(monday)
    except ValueError as exc:
        raise CrmkitError(f"--week wants the week's Monday as YYYY-MM-DD, not {monday!r}") from exc
    if start.weekday() != 0:
        raise CrmkitError(f"--week {monday} is a {start:%A}: give the week's Monday")
    year, week, _ = start.isocalendar()
    return f"{start + pd.Timedelta(days=7):%Y-%m-%d}", f"{year}-W{week:02d}"


def execute(source: Path, output: Path, parameters: dict) -> None:
    """Run a jupytext notebook with papermill; the executed .ipynb lands at `output`."""
    import jupytext
    import papermill

    notebook = jupytext.read(source)
    notebook.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    with tempfile.TemporaryDirectory(prefix="crmkit-") as tmp:
        src = Path(tmp) / (source.stem + ".ipynb")
        jupytext.write(notebook, src)
        try:
            papermill.execute_notebook(
                str(src),
                str(output),
                parameters=parameters,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=False,
                # Written once at the end (and on a failure), not after every cell: rewriting the
                # whole notebook ~50 times cost 1.3 s of CPU a render, beside the kernel's work.
                request_save_on_cell_execute=False,
                kernel_name="python3",
                kernel_manager_class=_kernel_manager(Path(tmp)),
            )
        except papermill.PapermillExecutionError as exc:
            raise CrmkitError(
                f"{source.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}"
            ) from None


def _kernel_manager(folder: Path):
    """The kernel manager for a render: on Linux and macOS the kernel talks over Unix sockets in
    the render's own temporary `folder`, not TCP ports. Over TCP, two renders starting at once can
    pick the same free port (each probes, closes, then binds), and one kernel dies with "Address
    already in use" — seen in a seven-report batch at a million deals. (jupyter_client's own
    socket names are relative to the working directory, shared by every render: hence `folder`.)"""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class QuietKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts a kernel before asking it to shut down (SIGINT); after a
            # render it is idle, and the interrupt only makes it print "KeyboardInterrupt caught
            # in kernel" on the batch's console. A busy one still gets the shutdown request, then
            # SIGTERM, then SIGKILL.
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    if os.name != "posix":
        return QuietKernelManager

    class UnixSocketKernelManager(QuietKernelManager):
        @default("transport")
        def _unix_sockets(self):
            return "ipc"

        @default("ip")
        def _in_folder(self):
            return str(folder / "kernel")

    return UnixSocketKernelManager


def to_html(executed: Path, target: Path, title: str, lang: str = "en") -> None:
    """Export an executed notebook file to self-contained HTML (see `export_html`)."""
    import nbformat

    export_html(nbformat.read(executed, as_version=4), target, title, lang)


def export_html(notebook, target: Path, title: str, lang: str = "en") -> None:
    """A notebook to self-contained HTML: no inputs, no prompts, no CDN scripts."""
    from nbconvert import HTMLExporter

    # Markdown cells narrate for analysts in Jupyter; the report's own text comes from the
    # translation table (crmkit.i18n) through cell outputs, so it follows the `lang` parameter.
    exporter = HTMLExporter(
        template_name="crmkit",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        language_code=lang,  # <html lang>: hyphenation, screen readers, the browser's spelling
    )
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    # Written beside and renamed: a full disk leaves the earlier report whole, never half a page.
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(body, encoding="utf-8")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def missing_input(source: Path, parameters: dict) -> str | None:
    """What a report needs that this database does not come with (None: nothing): the adoption
    report needs the adoption file a consultant writes, which no CRM export holds."""
    if source.stem.startswith("04"):
        from crmkit import adoption

        db = Path(parameters.get("db_path", ""))
        if adoption.find(parameters.get("adoption_path", ""), db) is None:
            return t("needs_adoption", parameters.get("lang", "en"), folder=str(db.parent), db=db.name)
    return None


def write_notice(target: Path, title: str, message: str, lang: str = "en") -> None:
    """A report page that says what the report needs instead of numbers (styled as the others)."""
    import textwrap

    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from crmkit import adoption

    example = textwrap.dedent(adoption.__doc__.split("\n\n", 1)[1])  # the documented example file
    if lang != "en":  # its comments are English: the field names alone, in any other language
        example = re.sub(r"[ \t]+#.*$", "", example, flags=re.M)
    body = (
        f'<div class="crmkit-header crmkit-needs"><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>'
        '<pre style="font-family:monospace;background:#f6f6f6;padding:.8em">'
        f"{html.escape(example)}</pre></div>"
    )
    cell = new_code_cell(outputs=[new_output("display_data", data={"text/html": body})])
    export_html(new_notebook(cells=[cell]), target, title, lang)


def render_one(source: Path, out_dir: Path, parameters: dict) -> Rendered:
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f".{source.stem}.ipynb"
    target = out_dir / f"{source.stem}.html"
    lang = parameters.get("lang", "en")
    scope = parameters.get("owner"), parameters.get("pipeline")
    title = scoped_title(t(f"report_{source.stem[:2]}", lang), *scope)
    needs = missing_input(source, parameters)
    if needs:
        write_notice(target, title, needs, parameters.get("lang", "en"))
        return Rendered(source.stem, target)
    try:
        execute(source, executed, parameters)
        to_html(executed, target, title=title, lang=parameters.get("lang", "en"))
    except CrmkitError as exc:
        return Rendered(source.stem, None, str(exc))
    except OSError as exc:  # no space left on the device, a folder that cannot be written
        return Rendered(source.stem, None, f"cannot write {target}: {exc.strerror or exc}")
    finally:
        executed.unlink(missing_ok=True)
    return Rendered(source.stem, target)


@dataclass(frozen=True)
class Run:
    """One database at one moment: what a batch renders every notebook for."""

    db: Path
    as_of: str
    period: str


def render_all(
    *,
    db: Path,
    out_root: Path,
    as_of: str = "",
    period: str = "",
    lang: str = "en",
    names: list[str] | None = None,
    jobs: int | None = None,
    extra: dict | None = None,
) -> list[Rendered]:
    """Render every report notebook into `out_root/<period>/` with an index.html. `extra`
    holds further notebook parameters (owner, pipeline, …); a report for one owner or one
    pipeline goes into a sub-folder named after it."""
    if not db.exists():
        raise CrmkitError(f"database {db} does not exist: build it with `crmkit load` first")
    if not period:
        period = pd.Timestamp(as_of).strftime("%Y-%m-%d") if as_of else "latest"
    return render_batch(
        [Run(db, as_of, period)],
        out_root=out_root,
        lang=lang,
        names=names,
        jobs=jobs,
        extra=extra,
        per_client=False,
    )


# The reports by how long they take at a million deals (06's forecast backtest alone is a third of
# the batch): submitted in this order, two workers finish a batch together.
HEAVIEST_FIRST = ("06", "02", "05", "01", "03", "00", "04")


def _heaviest_first(task) -> int:
    prefix = task[0].stem[:2]
    return HEAVIEST_FIRST.index(prefix) if prefix in HEAVIEST_FIRST else len(HEAVIEST_FIRST)


def render_batch(
    runs: list[Run],
    *,
    out_root: Path,
    lang: str = "en",
    names: list[str] | None = None,
    jobs: int | None = None,
    extra: dict | None = None,
    per_client: bool = True,
    cluster: str | None = None,
) -> list[Rendered]:
    """Render every notebook for every run, all on one pool (both cores busy across periods and
    databases), or on the Dask cluster at `cluster` (see `_executor`). With several databases
    each gets reports/<database>/<period>/; a language other than English its own sub-folder
    (reports/<period>/ru/). A database that cannot be opened fails its own reports at once, with
    the reason; the others go on."""
    sources = notebooks(names)
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    check_parameters(sources, extra)
    tasks, results = [], []
    for run in runs:
        out_dir = out_root / (_slug(run.db.stem) if per_client else "") / run.period
        for key in ("pipeline", "owner"):
            if key in extra:
                out_dir = out_dir / f"{key}-{_slug(str(extra[key]))}"
        if lang != "en":  # a Russian run beside the English one, never over it
            out_dir = out_dir / lang
        parameters = {"db_path": str(run.db.resolve()), "as_of": run.as_of, "lang": lang, **extra}
        problem = _unusable(run.db)
        for source in sources:
            if problem:
                results.append(Rendered(source.stem, None, problem, out_dir))
            else:
                tasks.append((source, out_dir, parameters))
    jobs = jobs or min(max(len(tasks), 1), os.cpu_count() or 1)
    with _progress(len(tasks)) as advance, _executor(jobs, cluster) as pool:
        if pool is not None:
            # the longest renders start first, so the workers finish together; results in order
            started = {
                id(task): pool.submit(render_one, *task) for task in sorted(tasks, key=_heaviest_first)
            }
            futures = [(started[id(task)], task) for task in tasks]
            for future, task in futures:
                results.append(_with_folder(future.result(), task[1]))
                advance(results[-1].notebook)
        else:
            for task in tasks:
                results.append(_with_folder(render_one(*task), task[1]))
                advance(results[-1].notebook)
    for folder in dict.fromkeys(r.folder for r in results):
        run_results = [r for r in results if r.folder == folder]
        parameters = next((t[2] for t in tasks if t[1] == folder), {"db_path": "—"})
        write_index(folder, run_results, parameters, folder.relative_to(out_root).as_posix(), lang)
    write_root_index(out_root, lang)
    return results


# A render that raised on a worker is tried again this many times; a worker that died mid-render
# has its jobs moved to the others by the Dask scheduler itself (distributed's allowed-failures).
CLUSTER_RETRIES = 2


@contextmanager
def _executor(jobs: int, cluster: str | None):
    """Where the render jobs run: the Dask distributed scheduler at `cluster` (its workers must
    reach the same paths: the databases and the reports folder, on shared storage), else a local
    process pool of `jobs`; None: in this process, one after another."""
    if cluster:
        try:
            from distributed import Client
        except ImportError as exc:
            raise CrmkitError("--cluster needs Dask's distributed: pip install 'crmkit[cluster]'") from exc
        try:
            client = Client(cluster, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise CrmkitError(f"--cluster {cluster}: no Dask scheduler answers there ({exc})") from exc
        with client:
            yield client.get_executor(retries=CLUSTER_RETRIES, pure=False)
    elif jobs > 1:
        # spawned, not forked: a fork copies the caller's DuckDB connections and their threads
        # (a notebook's, a test's), and a worker that inherits them can die mid-render
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    else:
        yield None


def _with_folder(result: Rendered, folder: Path) -> Rendered:
    result.folder = folder
    return result


def _unusable(db: Path) -> str | None:
    """Why a database cannot be reported on, or None: checked once, not once per notebook."""
    from crmkit.db import connect

    try:
        connect(db, read_only=True).close()
    except CrmkitError as exc:
        return str(exc)
    return None


def month_range(text: str) -> list[tuple[str, str]]:
    """'2026-10' or '2026-08..2026-10' -> [(as_of, period label), …], one per month."""
    first, _, last = text.partition("..")
    try:
        months = pd.period_range(first, last or first, freq="M")
    except ValueError as exc:
        raise CrmkitError(f"--month wants YYYY-MM or YYYY-MM..YYYY-MM, not {text!r}") from exc
    if not len(months):
        raise CrmkitError(f"--month {text}: the range is empty (the first month comes after the last)")
    return [month_window(str(m)) for m in months]


def _slug(text: str) -> str:
    """A folder name from any text: letters (any alphabet) and digits, the rest as hyphens."""
    return re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_").lower() or "x"


class _progress:
    """A progress bar on a terminal; in CI or a pipe, a line per report as it is rendered (on
    stderr, flushed: a log shows the batch moving, not everything at the end)."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty() and not os.environ.get("CI"):
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("rendering reports", total=self.total)
        return self.advance

    def advance(self, name: str):
        self.done += 1
        if self.bar:
            self.bar.update(self.task, advance=1, description=f"rendered {name}")
        else:
            print(f"rendered {self.done} of {self.total}: {name}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def write_root_index(out_root: Path, lang: str) -> Path:
    """reports/index.html: every folder rendered so far, newest period first."""
    folders = sorted(
        (p.parent for p in out_root.glob("**/index.html") if p.parent != out_root),
        key=lambda p: p.relative_to(out_root).as_posix(),
        reverse=True,
    )
    rows = "".join(
        f'<li><a href="{html.escape(f.relative_to(out_root).as_posix())}/index.html">'
        f"{html.escape(f.relative_to(out_root).as_posix())}</a></li>"
        for f in folders
    )
    page = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(t('reports_index', lang))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}</style>"
        f"</head><body><h1>{html.escape(t('reports_index', lang))}</h1><ul>{rows}</ul></body></html>"
    )
    index = out_root / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def write_index(out_dir: Path, results: list[Rendered], parameters: dict, period: str, lang: str) -> Path:
    """index.html of a period: every report in the folder (a partial run keeps the others),
    and the failures of this run with their reasons."""
    failed = {r.notebook: r.error for r in results if r.error}
    rows = [
        f'<li><a href="{html.escape(p.name)}">{html.escape(t("report_" + p.stem[:2], lang))}</a> '
        f"<small>{html.escape(p.stem)}</small></li>"
        for p in sorted(out_dir.glob("[0-9][0-9]_*.html"))
        if p.stem not in failed
    ]
    rows += [
        f"<li>{html.escape(name)}: <strong>failed</strong> — {html.escape(error or '')}</li>"
        for name, error in failed.items()
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    params = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in parameters.items()
    )
    page = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>crmkit {period}</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}"
        "th{text-align:left;padding-right:1em;color:#555} small{color:#888}</style></head><body>"
        f"<h1>crmkit — {html.escape(period)}</h1><ul>{''.join(rows)}</ul>"
        f"<h2>{t('parameters', lang)}</h2><table>{params}</table>"
        f"<p>Rendered {stamp}</p></body></html>"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
