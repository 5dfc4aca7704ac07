"""Notebooks to offline HTML: jupytext -> papermill (parameters) -> nbconvert, inputs hidden.

Everything runs in this one process (a kernel per notebook), reports in parallel across cores.
A failing notebook is named with its failing cell; the others still render.
"""

from __future__ import annotations

import html
import os
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.i18n import t
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


def month_window(month: str) -> tuple[str, str]:
    """'2026-10' -> (as_of '2026-11-01', the period label '2026-10')."""
    try:
        period = pd.Period(month, freq="M")
    except ValueError as exc:
        raise CrmkitError(f"--month wants YYYY-MM, not {month!r}") from exc
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
                kernel_name="python3",
            )
        except papermill.PapermillExecutionError as exc:
            raise CrmkitError(
                f"{source.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}"
            ) from None


def to_html(executed: Path, target: Path, title: str) -> None:
    """Export an executed notebook to self-contained HTML: no inputs, no prompts, no CDN."""
    import nbformat
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
    )
    notebook = nbformat.read(executed, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")


def render_one(source: Path, out_dir: Path, parameters: dict) -> Rendered:
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f".{source.stem}.ipynb"
    target = out_dir / f"{source.stem}.html"
    try:
        execute(source, executed, parameters)
        to_html(executed, target, title=t(f"report_{source.stem[:2]}", parameters.get("lang", "en")))
    except CrmkitError as exc:
        return Rendered(source.stem, None, str(exc))
    finally:
        executed.unlink(missing_ok=True)
    return Rendered(source.stem, target)


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
    sources = notebooks(names)
    if not db.exists():
        raise CrmkitError(f"database {db} does not exist: build it with `crmkit load` first")
    if not period:
        period = pd.Timestamp(as_of).strftime("%Y-%m-%d") if as_of else "latest"
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    out_dir = out_root / period
    for key in ("pipeline", "owner"):
        if key in extra:
            out_dir = out_dir / f"{key}-{_slug(str(extra[key]))}"
    parameters = {"db_path": str(db.resolve()), "as_of": as_of, "lang": lang, **extra}
    jobs = jobs or min(len(sources), os.cpu_count() or 1)
    results: list[Rendered] = []
    with _progress(len(sources)) as advance:
        if jobs > 1:
            with ProcessPoolExecutor(jobs) as pool:
                futures = [pool.submit(render_one, s, out_dir, parameters) for s in sources]
                for future in futures:
                    results.append(future.result())
                    advance(results[-1].notebook)
        else:
            for source in sources:
                results.append(render_one(source, out_dir, parameters))
                advance(results[-1].notebook)
    write_index(out_dir, results, parameters, period, lang)
    for item in results:
        item.folder = out_dir
    return results


def _slug(text: str) -> str:
    """A folder name from any text: letters (any alphabet) and digits, the rest as hyphens."""
    return re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_").lower() or "x"


class _progress:
    """A progress bar on a terminal, nothing in CI or a pipe."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty() and not os.environ.get("CI"):
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("rendering reports", total=self.total)
        return self.advance

    def advance(self, name: str):
        if self.bar:
            self.bar.update(self.task, advance=1, description=f"rendered {name}")

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


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
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
