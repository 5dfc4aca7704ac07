"""The audit deliverable: one offline HTML with every report, Vega once, CRM text escaped, every
chart drawn in headless Chromium with the network off, and a PDF print."""

import re

import pytest

from crmkit import bundle
from tests.test_reports import CHARTS, LOADING, headless

CLIENT = "ООО «Пример» <b>"


@pytest.fixture(scope="module")
def deliverable(sample_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "audit.html"
    return bundle.build(sample_db, out, client=CLIENT, as_of="2026-11-01", author="Консультант", lang="ru")


def test_bundle_holds_every_report_once_and_offline(deliverable):
    page = deliverable.read_text(encoding="utf-8")
    assert page.count("window.vegaEmbed=") == 1  # the Vega libraries once in the whole file
    assert len(re.findall(r'id="crmkit-chart-[0-9a-f]+"', page)) == sum(CHARTS.values())
    for name in CHARTS:
        assert f'href="#{name}"' in page and f'id="{name}"' in page  # contents and sections
    assert "Главное" in page and "Приложение" in page and "Глоссарий" in page
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
    lists every report's first finding before any report's second, each with its report's title,
    the sentence escaped once (no '&amp;lt;' from escaping an already escaped text)."""
    page = deliverable.read_text(encoding="utf-8")
    summary = page[page.index("Главное") : page.index('href="#00')]
    items = re.findall(r"<li><span class=.crmkit-from.>(.*?)</span> (.*?)</li>", summary, flags=re.S)
    assert 6 <= len(items) <= bundle.SUMMARY_ITEMS
    firsts = [title for title, _ in items[: len({title for title, _ in items})]]
    assert len(firsts) == len(set(firsts))  # the first round: one finding per report
    assert "&amp;" not in summary and all(text.strip() for _, text in items)
