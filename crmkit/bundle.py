"""The consultant's deliverable: every report (00–06) for one client in one self-contained
HTML — cover, executive summary, contents, the reports as sections, one glossary, an appendix
with the parameters and data versions. The Vega libraries appear once; sections start on a new
page and charts never split across pages when printed."""

from __future__ import annotations

import base64
import html
import mimetypes
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from crmkit import __version__, charts
from crmkit.db import connect, query
from crmkit.errors import CrmkitError
from crmkit.i18n import GLOSSARY, t
from crmkit.render import execute, export_html, notebooks
from crmkit.report import FINDINGS_MIME

SUMMARY_ITEMS = 12


def _run(source: Path, folder: Path, parameters: dict) -> tuple[str, Path | None, str | None]:
    executed = folder / f"{source.stem}.ipynb"
    try:
        execute(source, executed, parameters)
    except CrmkitError as exc:
        return source.stem, None, str(exc)
    return source.stem, executed, None


def _html_cell(content: str, css_class: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    body = f'<div class="{css_class}">{content}</div>' if css_class else content
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": body})]
    return cell


def _outputs(notebook) -> list[tuple[str, list[dict]]]:
    """A report's outputs in order: the HTML (without the report's own glossary: one for all) and
    the findings it carries as data (report.FINDINGS_MIME)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = data.get("text/html")
            if text and "crmkit-glossary" not in text:
                found.append((text if isinstance(text, str) else "".join(text), data.get(FINDINGS_MIME, [])))
    return found


def build(
    db: Path,
    out: Path,
    *,
    client: str,
    as_of: str = "",
    lang: str = "en",
    author: str = "",
    logo: Path | None = None,
    jobs: int = 2,
) -> Path:
    """Render every report for `client` and bind them into `out`."""
    if not Path(db).exists():
        raise CrmkitError(f"database {db} does not exist: build it with `crmkit load` first")
    if logo is not None and not Path(logo).exists():
        raise CrmkitError(f"logo not found: {logo}")
    sources = notebooks()
    parameters = {"db_path": str(Path(db).resolve()), "as_of": as_of, "lang": lang}
    with tempfile.TemporaryDirectory(prefix="crmkit-bundle-") as tmp, ProcessPoolExecutor(jobs) as pool:
        runs = list(pool.map(_run, sources, [Path(tmp)] * len(sources), [parameters] * len(sources)))
        sections = [
            (name, nbformat.read(path, as_version=4) if path else None, error) for name, path, error in runs
        ]
    bundle = f"<script>{charts.vega_bundle()}</script>"
    cells, findings, seen_bundle = [], [], False
    for order, (name, notebook, error) in enumerate(sections):
        title = t(f"report_{name[:2]}", lang)
        cells.append(
            _html_cell(
                f'<h1 id="{name}">{html.escape(name[:2])} · {html.escape(title)}</h1>', "crmkit-section"
            )
        )
        if notebook is None:
            cells.append(
                _html_cell(
                    f"<p class='crmkit-failed'>{html.escape(t('section_failed', lang))}: "
                    f"{html.escape(error or '')}</p>"
                )
            )
            continue
        for text, items in _outputs(notebook):
            if bundle in text:  # the Vega libraries once in the whole file
                text = text.replace(bundle, "") if seen_bundle else text
                seen_bundle = True
            findings += [(item["rank"], order, title, item) for item in items]
            cells.append(_html_cell(text))
    con = connect(db, read_only=True)
    loads = query(con, "metrics/load_history")
    freshness = query(con, "metrics/data_freshness")
    con.close()
    front = [
        _cover(client, author, as_of, freshness, lang, logo),
        _summary(findings, lang),
        _contents(sections, lang),
    ]
    back = [_glossary(lang), _appendix(parameters, client, author, loads, lang)]
    notebook = nbformat.v4.new_notebook(cells=front + cells + back)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_html(notebook, out, title=f"{client} — {t('bundle_title', lang)}")
    return out


def _cover(client, author, as_of, freshness, lang, logo) -> nbformat.NotebookNode:
    latest = freshness["latest_at"].max()
    period = as_of or (f"{latest:%Y-%m-%d}" if latest is not None else "—")
    image = ""
    if logo is not None:
        kind = mimetypes.guess_type(str(logo))[0] or "image/png"
        data = base64.b64encode(Path(logo).read_bytes()).decode()
        image = f'<img class="crmkit-logo" alt="" src="data:{kind};base64,{data}">'
    rows = [
        (t("client", lang), client),
        (t("as_of", lang), period),
        (t("author", lang), author or "—"),
        (t("prepared", lang), datetime.now(UTC).strftime("%Y-%m-%d")),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return _html_cell(
        f"{image}<h1>{html.escape(t('bundle_title', lang))}</h1>"
        f"<p class='crmkit-client'>{html.escape(client)}</p><table>{table}</table>",
        "crmkit-cover",
    )


def _summary(findings, lang) -> nbformat.NotebookNode:
    """Each report's most important findings first (its own ranking), then the next ones."""
    ranked = sorted(findings, key=lambda f: (f[0], f[1]))[:SUMMARY_ITEMS]
    items = "".join(
        f"<li><span class='crmkit-from'>{html.escape(title)}</span> {html.escape(item['text'])}</li>"
        for _, _, title, item in ranked
    )
    return _html_cell(
        f"<h1>{html.escape(t('summary', lang))}</h1><ol class='crmkit-findings'>{items}</ol>",
        "crmkit-section",
    )


def _contents(sections, lang) -> nbformat.NotebookNode:
    rows = "".join(
        f'<li><a href="#{name}">{html.escape(name[:2])} · {html.escape(t(f"report_{name[:2]}", lang))}'
        f"</a></li>"
        for name, _, _ in sections
    )
    rows += f'<li><a href="#glossary">{html.escape(t("glossary", lang))}</a></li>'
    rows += f'<li><a href="#appendix">{html.escape(t("appendix", lang))}</a></li>'
    return _html_cell(f"<h1>{html.escape(t('contents', lang))}</h1><ol class='crmkit-toc'>{rows}</ol>")


def _glossary(lang) -> nbformat.NotebookNode:
    terms: dict[str, str] = {}
    for report in sorted(GLOSSARY):
        for term, (en, ru) in GLOSSARY[report].items():
            terms.setdefault(term, ru if lang == "ru" else en)
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in sorted(terms.items()))
    source = html.escape(t("glossary_source_all", lang, version=__version__))
    return _html_cell(
        f'<h1 id="glossary">{html.escape(t("glossary", lang))}</h1><dl class="crmkit-glossary">{items}</dl>'
        f'<p class="crmkit-source">{source}</p>',
        "crmkit-section",
    )


def _appendix(parameters, client, author, loads, lang) -> nbformat.NotebookNode:
    shown = {**parameters, "client": client, "author": author or "—"}
    params = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in shown.items()
    )
    rows = "".join(
        f"<tr><td>{html.escape(f'{row.loaded_at:%Y-%m-%d %H:%M}')}</td>"
        f"<td>{html.escape(str(row.file_name))}</td>"
        f"<td class='num'>{row.rows_read:,}</td><td class='num'>{row.rows_loaded:,}</td>"
        f"<td class='num'>{row.rows_rejected:,}</td></tr>"
        for row in loads.itertuples()
    )
    head = "".join(
        f"<th>{html.escape(t(k, lang))}</th>"
        for k in ("loaded_at_col", "file_name", "rows_read", "rows_loaded", "rows_rejected")
    )
    return _html_cell(
        f'<h1 id="appendix">{html.escape(t("appendix", lang))}</h1>'
        f"<h2>{html.escape(t('parameters', lang))}</h2>"
        f"<table>{params}</table><h2>{html.escape(t('data_versions', lang))}</h2>"
        f'<table class="crmkit-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>',
        "crmkit-section",
    )
