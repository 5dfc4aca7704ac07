"""The deliverable in print: every table and chart fits an A4 page (checked in headless Chromium
with the print stylesheet at the page's width), and `crmkit audit --pdf` makes an A4 PDF
without a browser, holding every section's title as text."""

import json
import re

import pytest

from crmkit import bundle
from crmkit.i18n import t
from crmkit.render import TEMPLATES
from tests.test_reports import headless

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


@pytest.fixture(scope="module")
def printed(sample_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("print")
    out = bundle.build(sample_db, folder / "audit.html", client="ООО «Пример»", as_of="2026-11-01",
                       lang="ru", pdf=folder / "audit.pdf", workbook=folder / "audit.xlsx")  # fmt: skip
    return out, folder / "audit.pdf", folder / "audit.xlsx"


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
