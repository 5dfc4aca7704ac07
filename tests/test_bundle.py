"""The audit deliverable: one offline HTML with every report, Vega once, CRM text escaped, every
chart drawn in headless Chromium with the network off, and a PDF print. In print: every table and
chart fits an A4 page (checked in headless Chromium with the print stylesheet at the page's
width), and `crmkit audit --pdf` makes an A4 PDF without a browser, holding every section's title
as text, beside a workbook with every row of each list the reports cut short."""

import json
import re

import pytest

from crmkit import bundle
from crmkit.i18n import t
from crmkit.render import TEMPLATES
from tests.test_reports import CHARTS, LOADING, headless

CLIENT = "ООО «Пример» <b>"


SAID = []  # what the build told as it went, with when (seconds from its start)


@pytest.fixture(scope="module")
def deliverable(sample_db, tmp_path_factory):
    """The Russian deliverable of the sample, built once with its PDF and workbook beside it."""
    import time

    folder = tmp_path_factory.mktemp("bundle")
    start = time.monotonic()
    return bundle.build(sample_db, folder / "audit.html", client=CLIENT, as_of="2026-11-01",
                        author="Консультант", lang="ru", pdf=folder / "audit.pdf",
                        workbook=folder / "audit.xlsx",
                        say=lambda line: SAID.append((time.monotonic() - start, line)))  # fmt: skip


def test_the_build_says_each_step_as_it_goes(deliverable):
    """A long audit tells its steps as they happen: every report rendered (7 of 7), the HTML, the
    workbook and the PDF — the PDF announced before it is written, the slowest step last."""
    lines = [line for _, line in SAID]
    rendered = [line for line in lines if line.startswith("rendered ")]
    assert len(rendered) == 7 and rendered[-1].startswith("rendered 7 of 7: ")
    assert [line.split()[0] for line in lines[7:]] == ["wrote", "writing", "writing"]
    assert "workbook" in lines[8] and "PDF" in lines[9]
    # the first report is told as soon as it is done, seconds before the last (seven renders on
    # two workers): progress, not a summary at the end
    assert SAID[6][0] - SAID[0][0] > 2.0


@pytest.fixture
def printed(deliverable):
    return deliverable, deliverable.with_suffix(".pdf"), deliverable.with_suffix(".xlsx")


def test_bundle_holds_every_report_once_and_offline(deliverable):
    page = deliverable.read_text(encoding="utf-8")
    assert page.count("window.vegaEmbed=") == 1  # the Vega libraries once in the whole file
    assert len(re.findall(r'id="crmkit-chart-[0-9a-f]+"', page)) == sum(CHARTS.values())
    for name in CHARTS:
        assert f'href="#{name}"' in page and f'id="{name}"' in page  # contents and sections
    assert "Главное" in page and "Приложение" in page and "Как это посчитано" in page
    assert page.count('id="glossary"') == 1 and 'class="crmkit-failed"' not in page
    assert not LOADING.findall(page)
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert CLIENT not in text and "ООО «Пример» &lt;b&gt;" in text  # the client's name is text


def test_bundle_draws_offline_and_prints(deliverable, tmp_path):
    dom = headless(deliverable, "--dump-dom", budget_ms=15000).stdout
    charts = dom.split('id="crmkit-chart-')[1:]
    assert len(charts) == sum(CHARTS.values()) and all("<svg" in chart for chart in charts)
    pdf = tmp_path / "audit.pdf"
    headless(deliverable, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", budget_ms=15000)
    pages = pdf.read_bytes().count(b"/Type /Page\n") + pdf.read_bytes().count(b"/Type /Page ")
    assert pages > 10


def test_bundle_escapes_crm_text_and_reports_a_failed_section(make_db, tmp_path):
    from tests.fixtures.scenarios import SCENARIOS

    con, _ = make_db(SCENARIOS)
    con.close()
    out = bundle.build(tmp_path / "crm.duckdb", tmp_path / "audit.html", client="Тест", as_of="2026-03-01")
    text = re.sub(r"<script.*?</script>", "", out.read_text(encoding="utf-8"), flags=re.S)
    assert "<script>alert" not in text and 'Иван "Ваня" <b>' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and 'Иван "Ваня" &lt;b&gt;' in text
    # two months of data cannot carry the adoption report: its section says why, the rest render
    assert text.count('class="crmkit-failed"') == 1 and "adoption" in text.lower()


def test_the_summary_is_read_from_the_findings_data(deliverable):
    """Each report's findings travel as data beside their HTML (report.FINDINGS_MIME); the summary
    lists at most ten, each linking to its section, the sentence escaped once (no '&amp;lt;' from
    escaping an already escaped text); the audit's findings sit in the data box, not the list."""
    page = deliverable.read_text(encoding="utf-8")
    summary = page[page.index('class="crmkit-section crmkit-summary"') : page.index('class="crmkit-databox"')]
    items = re.findall(r'<li>(.*?) <a class="crmkit-from" href="#(\w+)">', summary, flags=re.S)
    assert 6 <= len(items) <= bundle.SUMMARY_ITEMS
    assert "&amp;" not in summary and all(text.strip() for text, _ in items)
    assert not any(name.startswith("00") for _, name in items)
    box = page[page.index('class="crmkit-databox"') : page.index('class="crmkit-contents"')]
    assert "Сделки без истории этапов" in box


def _finding(rank, text, impact, money):
    return {"rank": rank, "rule": "r", "impact": impact, "money": money, "text": text, "evidence": {}}


def test_the_summary_ranks_by_money_at_stake_then_by_each_reports_order():
    """Worked by hand: money first, largest first (B 900 > A 500 > C 100), then the findings
    without money by their report's own rank (D rank 1 before E rank 2; a tie goes to the earlier
    report); the same sentence twice (02 repeats 01's) once; the audit's finding goes to the box;
    the statement's first sentence only ("Act: …" is for the section)."""
    sections = [
        bundle.Section("00_data_audit", [bundle.Piece("", [_finding(1, "Audit X.", 5.0, False)])]),
        bundle.Section("01_pipeline_duration", [bundle.Piece("", [
            _finding(1, "A 500 at stake. Act: call.", 500.0, True),
            _finding(2, "E second.", 0.0, False),
            _finding(3, "Same stuck.", 100.0, True),
        ])]),
        bundle.Section("02_stage_bottlenecks", [bundle.Piece("", [
            _finding(1, "B 900 at stake.", 900.0, True),
            _finding(2, "Same stuck.", 100.0, True),
            _finding(3, "C 100.", 100.0, True),
        ])]),
        bundle.Section("05_weekly_kpi", [bundle.Piece("", [_finding(1, "D first.", 3.0, False)])]),
    ]  # fmt: skip
    page = bundle._summary(sections, "Data note.", "en")
    items = re.findall(r"<li>(.*?) <a class=\"crmkit-from\" href=\"#(\w+)\">", page)
    assert items == [
        ("B 900 at stake.", "02_stage_bottlenecks"),
        ("A 500 at stake.", "01_pipeline_duration"),
        ("Same stuck.", "01_pipeline_duration"),
        ("C 100.", "02_stage_bottlenecks"),
        ("D first.", "05_weekly_kpi"),
        ("E second.", "01_pipeline_duration"),
    ]
    box = page[page.index("crmkit-databox") :]
    assert "Audit X." in box and "Data note." in box
    assert "Audit X." not in page[: page.index("crmkit-databox")]


def test_first_sentence_keeps_abbreviations():
    assert bundle._first_sentence("Медиана 54 дн. (95 % ДИ 46–68). Что делать: разобрать.") == (
        "Медиана 54 дн. (95 % ДИ 46–68)."
    )
    assert bundle._first_sentence("One sentence only") == "One sentence only"


# A4 is 210 mm wide; print.css leaves 14 mm margins: 182 mm of content = 688 CSS pixels.
PAGE_WIDTH_PX = round(182 / 25.4 * 96)

# Runs after the charts are drawn: each table, chart or code block whose right edge passes the
# page's, with its text, so a failure names it.
PROBE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const limit = document.documentElement.clientWidth + 1;
  const wide = [...document.querySelectorAll("table, .crmkit-chart, pre")]
    .filter((e) => e.getBoundingClientRect().right > limit || e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.tagName} ${Math.round(e.getBoundingClientRect().right)}px: ` +
                e.textContent.trim().slice(0, 80));
  const out = document.createElement("pre");
  out.id = "crmkit-overflow";
  out.textContent = JSON.stringify({width: limit - 1, wide: wide});
  document.body.appendChild(out);
}, 2000));
</script>
"""


def overflowing(page, tmp_path) -> dict:
    """The page with print.css applied on screen, at A4's content width, measured in Chromium."""
    css = (TEMPLATES / "crmkit" / "print.css").read_text(encoding="utf-8")
    probed = tmp_path / f"probe-{page.name}"
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("</body>", f"<style>{css}</style>{PROBE}</body>"), encoding="utf-8")
    dom = headless(probed, "--dump-dom", f"--window-size={PAGE_WIDTH_PX},3000", "--hide-scrollbars",
                   budget_ms=20000).stdout  # fmt: skip
    found = re.search(r'<pre id="crmkit-overflow">(.*?)</pre>', dom, flags=re.S)
    assert found, "the probe did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))


@pytest.mark.browser
def test_every_table_and_chart_fits_the_printed_page(printed, tmp_path):
    measured = overflowing(printed[0], tmp_path)
    assert measured["width"] == PAGE_WIDTH_PX
    assert measured["wide"] == []


def test_the_pdf_is_a4_with_every_section_and_no_path(printed):
    from pypdf import PdfReader

    reader = PdfReader(printed[1])
    assert len(reader.pages) > 15
    for page in reader.pages:  # A4: 595 × 842 points
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for key in ("00", "01", "02", "03", "04", "05", "06"):
        assert f"{key} · {t(f'report_{key}', 'ru')}" in flat
    assert t("summary", "ru") in flat and t("glossary", "ru") in flat
    assert "ООО «Пример»" in flat  # the client's name in the page header
    assert "Стр. 2 / " in flat  # page numbers in the footer
    assert "file://" not in flat and "/tmp" not in flat and ".duckdb" in flat  # the db by name only


def test_the_workbook_holds_every_row_of_each_list_cut_short(printed):
    """Each table the reports cut short is a sheet with all its rows and the HTML's headers; the
    HTML says which sheet. Worked from the page: the stale deals show 25 of N, sheet 1 has N rows."""
    from openpyxl import load_workbook

    page = printed[0].read_text(encoding="utf-8")
    pointer = r"Первые (\d+) из ([\d\u00a0]+); полный список — в книге Excel, лист (\d+) \(«(.+?)»\)"
    notes = re.findall(pointer, page)
    assert notes, "no table points to the workbook"
    book = load_workbook(printed[2])
    assert len(book.sheetnames) == len(notes)
    for shown, total, number, name in notes:
        sheet = book[f"{number} {name}"[:31]]
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) - 1 == int(total.replace("\u00a0", "")) > int(shown)
        table = page[: page.index(f"лист {number} («{name}»)")]
        header = table[table.rindex("<thead>") : table.rindex("</thead>")]
        head = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", header)
        assert list(rows[0]) == head  # the same columns as the HTML
    stale = book[book.sheetnames[0]]
    money = [c for c in stale[1] if c.value == "Сумма"][0].column
    assert stale.cell(row=2, column=money).number_format == "#,##0"
    assert isinstance(stale.cell(row=2, column=money).value, int | float)
