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
