"""The consultant's deliverable: every report (00–06) for one client in one self-contained
HTML — cover, executive summary (findings ranked by the money at stake, data-quality notes apart),
contents, the reports as sections, one glossary, an appendix with the parameters and data
versions. The Vega libraries appear once; sections start on a new page and nothing is cut off
when printed (print.css). Optionally the same as an A4 PDF (WeasyPrint, charts as static SVG: no
browser) and the full deal lists as an Excel workbook beside it."""

from __future__ import annotations

import base64
import html
import mimetypes
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pandas as pd

from crmkit import __version__, charts, localize, report
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.i18n import GLOSSARY, TERMS, t
from crmkit.inert import css_string, spreadsheet_text
from crmkit.render import TEMPLATES, execute, export_html, notebooks

SUMMARY_ITEMS = 10
# A report's own header, "about" block and glossary give way to the bundle's: one title per
# section, the parameters in the appendix, one glossary for all.
_REPLACED = ('class="crmkit-header', 'class="crmkit-about', 'class="crmkit-glossary')


@dataclass
class Piece:
    """One output of a report: its HTML and what travels beside it as data."""

    html: str
    findings: list[dict] = field(default_factory=list)
    chart: dict | None = None  # the Vega-Lite spec (charts.CHART_MIME), drawn as SVG in the PDF
    table: dict | None = None  # every row of a table cut short (report.TABLE_MIME)


@dataclass
class Section:
    name: str  # the notebook's stem, e.g. 02_stage_bottlenecks
    pieces: list[Piece]
    error: str | None = None

    @property
    def key(self) -> str:
        return self.name[:2]


def _run(source: Path, folder: Path, parameters: dict) -> tuple[str, Path | None, str | None]:
    executed = folder / f"{source.stem}.ipynb"
    try:
        execute(source, executed, parameters)
    except CrmkitError as exc:
        return source.stem, None, str(exc)
    return source.stem, executed, None


def _pieces(notebook) -> list[Piece]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = data.get("text/html")
            if not text:
                continue
            text = text if isinstance(text, str) else "".join(text)
            if any(marker in text for marker in _REPLACED):
                continue
            found.append(
                Piece(
                    text,
                    data.get(report.FINDINGS_MIME, []),
                    data.get(charts.CHART_MIME),
                    data.get(report.TABLE_MIME),
                )
            )
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
    pdf: Path | None = None,
    workbook: Path | None = None,
    say=None,
) -> Path:
    """Render every report for `client` and bind them into `out` (and `pdf`, `workbook`);
    `say(line)` is told each step as it is done (the CLI prints it)."""
    say = say or (lambda line: None)
    if not Path(db).exists():
        raise CrmkitError(f"database {db} does not exist: build it with `crmkit load` first")
    if logo is not None and not Path(logo).exists():
        raise CrmkitError(f"logo not found: {logo}")
    sources = notebooks()
    parameters = {"db_path": str(Path(db).resolve()), "as_of": as_of, "lang": lang}
    with tempfile.TemporaryDirectory(prefix="crmkit-bundle-") as tmp, ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(_run, source, Path(tmp), parameters) for source in sources]
        for done, future in enumerate(as_completed(futures), 1):
            say(f"rendered {done} of {len(futures)}: {future.result()[0]}")
        runs = [future.result() for future in futures]
        sections = [
            Section(name, _pieces(nbformat.read(path, as_version=4)) if path else [], error)
            for name, path, error in runs
        ]
    ctx = report.open_report(str(db), as_of=as_of, lang=lang)  # the reports' own default as_of
    loads = query(ctx.con, "metrics/load_history")
    freshness = ctx.freshness
    quality = report.quality_note(ctx.con, freshness, ctx.span.as_of, lang)
    ctx.con.close()
    sheets = _sheets(sections, lang) if workbook is not None else {}
    cover = _cover(client, author, as_of, freshness, lang, logo)
    front = [cover, _summary(sections, quality, lang), _contents(sections, lang)]
    back = [_glossary(lang), _appendix(Path(db).name, as_of, client, author, loads, lang)]

    as_of_day = localize.day(ctx.span.as_of - pd.Timedelta(days=1), lang, "long")

    def body(static: bool) -> list[str]:
        return front + _sections(sections, lang, static=static, sheets=sheets) + back

    title = f"{client} — {t('bundle_title', lang)}"
    # printed from a browser: the client, the title and the date on every page, and page numbers
    stamp = report.page_stamp(client, f"{t('bundle_title', lang)} · {as_of_day}")
    notebook = nbformat.v4.new_notebook(cells=[_html_cell(block) for block in [stamp, *body(static=False)]])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_html(notebook, out, title=title, lang=lang)
    say(f"wrote {out}")
    if workbook is not None:
        say(f"writing the workbook {workbook}")
        _write_workbook(sheets, Path(workbook), lang)
    if pdf is not None:
        say(f"writing the PDF {pdf} (a minute or two)")
        _write_pdf(body(static=True), Path(pdf), client=client, stamp=as_of_day, title=title, lang=lang)
    return out


def _html_cell(content: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": content})]
    return cell


def _sections(sections: list[Section], lang: str, *, static: bool, sheets: dict) -> list[str]:
    """Each report as a section: one numbered title, its introduction, its outputs. `static`
    draws the charts as SVG (for the PDF, where no script runs)."""
    blocks, bundle, seen_bundle = [], f"<script>{charts.vega_bundle()}</script>", False
    for section in sections:
        title = f"{section.key} · {t(f'report_{section.key}', lang)}"
        intro = t(f"intro_{section.key}", lang)
        blocks.append(
            f'<div class="crmkit-section" id="{section.name}"><h1>{html.escape(title)}</h1>'
            f"<p>{html.escape(intro)}</p></div>"
        )
        if section.error is not None:
            failed = f"{t('section_failed', lang)}: {section.error}"
            blocks.append(f"<p class='crmkit-failed'>{html.escape(failed)}</p>")
            continue
        for piece in section.pieces:
            text = piece.html
            if static and piece.chart is not None:
                text = f'<div class="crmkit-chart">{_svg(piece.chart)}</div>'
            elif bundle in text:  # the Vega libraries once in the whole file
                text = text.replace(bundle, "") if seen_bundle else text
                seen_bundle = True
            if piece.table is not None and piece.table["sheet"] in sheets:
                number, name, _ = sheets[piece.table["sheet"]]
                shown, total = _shown_rows(text), len(piece.table["rows"])
                text = text.replace(
                    report.more_rows(shown, total, lang), report.more_rows(shown, total, lang, (number, name))
                )
            blocks.append(text)
    return blocks


def _shown_rows(table_html: str) -> int:
    return table_html.count("<tr class=")  # body rows only (the header row has no class)


def _svg(spec: dict) -> str:
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec)
    return svg[svg.index("<svg") :]  # without the XML declaration


def _first_sentence(text: str) -> str:
    """The statement with its figure, without the advice that follows ("Act: …"): cut at the first
    full stop after a word of three letters or more (so «дн.» and "e.g." do not end it)."""
    match = re.match(r"(.*?[\w»)%]{3,}[.!?])\s+(?=[A-ZА-ЯЁ«])", text, flags=re.S)
    return match.group(1) if match else text


def _summary(sections: list[Section], quality: str, lang: str) -> str:
    """At most ten findings of the analysis, the money at stake first (largest first), then the
    rest by each report's own ranking; each one sentence and where to read more. The data audit's
    findings and the data note go to a box of their own."""
    business, data = [], []
    for order, section in enumerate(sections):
        for piece in section.pieces:
            for item in piece.findings:
                (data if section.key == "00" else business).append((order, section, item))

    def weight(entry):
        order, _, item = entry
        money = item.get("money") and (item.get("impact") or 0) > 0
        return (0, -item["impact"], order) if money else (1, item["rank"], order)

    chosen, said = [], set()
    for entry in sorted(business, key=weight):  # one statement once (02 repeats 01's stuck deals)
        if entry[2]["text"] not in said and len(chosen) < SUMMARY_ITEMS:
            chosen.append(entry)
            said.add(entry[2]["text"])
    items = []
    for _, section, item in chosen:
        where = html.escape(f"→ {section.key} · {t(f'report_{section.key}', lang)}")
        where = f'<a class="crmkit-from" href="#{section.name}">{where}</a>'
        items.append(f"<li>{html.escape(_first_sentence(item['text']))} {where}</li>")
    notes = "".join(f"<li>{html.escape(item['text'])}</li>" for _, _, item in data)
    box = (
        f'<div class="crmkit-databox"><h2>{html.escape(t("data_quality", lang))}</h2>'
        f"<p>{html.escape(quality)}</p><ul>{notes}</ul>"
        f'<p><a href="#{sections[0].name}">→ 00 · {html.escape(t("report_00", lang))}</a></p></div>'
    )
    listed = "".join(items) or f"<li>{html.escape(t('no_findings', lang))}</li>"
    return (
        f'<div class="crmkit-section crmkit-summary"><h1>{html.escape(t("summary", lang))}</h1>'
        f"<p class='crmkit-more'>{html.escape(t('summary_order', lang))}</p>"
        f'<ol class="crmkit-findings">{listed}</ol>{box}</div>'
    )


def _cover(client, author, as_of, freshness, lang, logo) -> str:
    latest = freshness["latest_at"].max()
    # as_of is the moment after the data's last day: the cover names that day
    day = pd.Timestamp(as_of) - pd.Timedelta(days=1) if as_of else latest
    period = localize.day(day, lang, "long") if day is not None and pd.notna(day) else "—"
    image = ""
    if logo is not None:
        kind = mimetypes.guess_type(str(logo))[0] or "image/png"
        data = base64.b64encode(Path(logo).read_bytes()).decode()
        image = f'<img class="crmkit-logo" alt="" src="data:{kind};base64,{data}">'
    rows = [
        (t("client", lang), client),
        (t("as_of", lang), period),
        (t("author", lang), author or "—"),
        (t("prepared", lang), localize.day(datetime.now(UTC).date(), lang, "long")),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return (
        f'<div class="crmkit-cover">{image}<h1>{html.escape(t("bundle_title", lang))}</h1>'
        f"<p class='crmkit-client'>{html.escape(client)}</p><table>{table}</table></div>"
    )


def _contents(sections: list[Section], lang) -> str:
    rows = "".join(
        f'<li><a href="#{s.name}">{html.escape(s.key)} · {html.escape(t(f"report_{s.key}", lang))}</a></li>'
        for s in sections
    )
    rows += f'<li><a href="#glossary">{html.escape(t("glossary", lang))}</a></li>'
    rows += f'<li><a href="#appendix">{html.escape(t("appendix", lang))}</a></li>'
    return f"<div class='crmkit-contents'><h1>{html.escape(t('contents', lang))}</h1><ol>{rows}</ol></div>"


def _glossary(lang) -> str:
    terms: dict[str, str] = {}
    for key in sorted(GLOSSARY):
        for term, (en, ru) in GLOSSARY[key].items():
            terms.setdefault(TERMS[term] if lang == "ru" else term, ru if lang == "ru" else en)
    ordered = sorted(terms.items(), key=_by_letter)
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in ordered)
    source = html.escape(t("glossary_source_all", lang, version=__version__))
    return (
        f'<div class="crmkit-section" id="glossary"><h1>{html.escape(t("glossary", lang))}</h1>'
        f'<dl class="crmkit-glossary">{items}</dl><p class="crmkit-source">{source}</p></div>'
    )


def _by_letter(item: tuple[str, str]) -> str:
    return item[0].lstrip("«\"'").casefold()


def _appendix(db_name, as_of, client, author, loads, lang) -> str:
    """The parameters and the loads: no local path (the database by its file name)."""
    shown = {
        t("param_db", lang): db_name,
        t("as_of", lang): as_of or "—",
        t("client", lang): client,
        t("author", lang): author or "—",
        "crmkit": __version__,
    }
    params = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in shown.items()
    )
    rows = "".join(
        f"<tr><td>{html.escape(f'{row.loaded_at:%Y-%m-%d %H:%M}')}</td>"
        f"<td>{html.escape(Path(str(row.file_name)).name)}</td>"
        f"<td class='num'>{report._fmt(row.rows_read, 'int', lang)}</td>"
        f"<td class='num'>{report._fmt(row.rows_loaded, 'int', lang)}</td>"
        f"<td class='num'>{report._fmt(row.rows_rejected, 'int', lang)}</td></tr>"
        for row in loads.itertuples()
    )
    head = "".join(
        f"<th>{html.escape(t(k, lang))}</th>"
        for k in ("loaded_at_col", "file_name", "rows_read", "rows_loaded", "rows_rejected")
    )
    return (
        f'<div class="crmkit-section" id="appendix"><h1>{html.escape(t("appendix", lang))}</h1>'
        f"<h2>{html.escape(t('parameters', lang))}</h2>"
        f"<table>{params}</table><h2>{html.escape(t('data_versions', lang))}</h2>"
        f'<table class="crmkit-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
    )


def _sheets(sections: list[Section], lang: str) -> dict[str, tuple[int, str, dict]]:
    """The tables cut short in the reports, numbered in reading order: key -> (number, name, data)."""
    found: dict[str, tuple[int, str, dict]] = {}
    for section in sections:
        for piece in section.pieces:
            if piece.table is not None and piece.table["sheet"] not in found:
                key = piece.table["sheet"]
                found[key] = (len(found) + 1, t(key, lang), piece.table)
    return found


_EXCEL_FORMATS = {
    "money": "#,##0",
    "estimate": "#,##0",
    "days": "0.0",
    "share": "0.0%",
    "int": "#,##0",
    "date": "yyyy-mm-dd",
}


def _write_workbook(sheets: dict, target: Path, lang: str) -> None:
    """One sheet per table cut short in the reports, every row, the columns and headers of the
    HTML, numbers as numbers with formats; written beside and renamed (never half a file)."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for number, name, data in sheets.values():
        sheet = book.create_sheet(f"{number} {name}"[:31])
        sheet.append(data["headers"])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in data["rows"]:
            sheet.append([
                pd.Timestamp(v).to_pydatetime() if kind == "date" and v is not None else v
                for v, kind in zip(row, data["kinds"], strict=True)
            ])  # fmt: skip
        for line in sheet.iter_rows():
            for cell in line:  # CRM text is a string cell, never a formula
                if isinstance(cell.value, str):
                    cell.value = spreadsheet_text(cell.value)
                    cell.data_type = "s"
        for index, kind in enumerate(data["kinds"], 1):
            letter = get_column_letter(index)
            sample = [str(data["headers"][index - 1])] + [str(r[index - 1] or "") for r in data["rows"][:200]]
            width = max(len(text) for text in sample)
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 50)
            if kind in _EXCEL_FORMATS:
                shown = _EXCEL_FORMATS[kind]
                values = [r[index - 1] for r in data["rows"] if isinstance(r[index - 1], int | float)]
                if kind == "days" and all(float(v).is_integer() for v in values):
                    shown = "0"  # whole days read as whole days, not "12.0"
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = shown
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    if not sheets:  # a workbook needs a sheet: say there was nothing to list
        book.create_sheet(t("sheet_none", lang)[:31]).append([t("sheet_none", lang)])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        book.save(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _inline_only():
    """WeasyPrint's fetcher for the bundle: it serves the document's own inline resources (`data:`
    URLs: the logo, fonts and images the stylesheets embed) and refuses every other address —
    file:, http:, https: — so no text in the document can read a local file or call a server."""
    from weasyprint.urls import URLFetcher

    class InlineOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                raise ValueError(f"not fetched: the PDF embeds only its own inline resources ({url[:40]})")
            return super().fetch(url, headers)

    return InlineOnly(allowed_protocols=("data",), allow_redirects=False)


def _write_pdf(blocks: list[str], target: Path, *, client: str, stamp: str, title: str, lang: str) -> None:
    """The bundle as an A4 PDF, made by WeasyPrint from the same blocks and the same print
    stylesheet a browser uses, charts as static SVG; the client's name in the page header, the
    date the data reach beside the title on every page, the page number in the footer, no browser
    date or file path."""
    from weasyprint import HTML

    styles = "".join((TEMPLATES / "crmkit" / name).read_text() for name in ("report.css", "print.css"))
    page = (
        "@page { size: A4; margin: 16mm 14mm 16mm 14mm;"
        " font-family: Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;"
        f" @top-left {{ content: {css_string(client)}; font-size: 8pt; color: #777; }}"
        f" @top-right {{ content: {css_string(t('bundle_title', lang) + ' · ' + stamp)}; font-size: 8pt;"
        " color: #777; }"
        f" @bottom-right {{ content: {css_string(t('page', lang))} ' ' counter(page) ' / ' counter(pages);"
        " font-size: 8pt; color: #777; } }"
        " @page :first { @top-left { content: none; } @top-right { content: none; } }"
    )
    document = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{styles}{page}</style></head><body class='jp-Notebook crmkit-pdf'>"
        f"<div class='jp-RenderedHTMLCommon'>{''.join(blocks)}</div></body></html>"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        HTML(string=document, url_fetcher=_inline_only()).write_pdf(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
