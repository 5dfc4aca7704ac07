"""Notebook 01 through papermill with parameters, nbval on its defaults, and the rendered HTML:
nothing loaded from another host, and in headless Chromium with the network off the charts draw."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crmkit import render, sample
from crmkit.paths import NOTEBOOKS_DIR

NOTEBOOK = NOTEBOOKS_DIR / "01_pipeline_duration.py"
REPORTS = [p.stem for p in render.notebooks()]
CHARTS = {
    "00_data_audit": 1,
    "04_crm_adoption_roi": 3,
    "05_weekly_kpi": 4,
    "01_pipeline_duration": 3,
    "02_stage_bottlenecks": 3,
    "03_manager_funnels": 2,
    "06_sources_and_forecast": 5,
}
LOADING = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|import\(\s*["'](?:https?:)?//""",
    re.I,
)


@pytest.fixture(scope="module")
def rendered(sample_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    results = render.render_all(
        db=sample_db, out_root=out, as_of="2026-11-01", period="2026-10", lang="en", jobs=1
    )
    assert [r.error for r in results] == [None] * len(results)
    return out / "2026-10"


def test_report_names_planted_effects_and_stamps_parameters(rendered):
    page = (rendered / "01_pipeline_duration.html").read_text(encoding="utf-8")
    assert sample.PLANTED["slow_manager"] + " closes won deals slowly" in page
    assert "are older than the median won cycle" in page  # the stale-deals finding
    assert "2026-11-01" in page and "Latest event" in page
    index = (rendered / "index.html").read_text(encoding="utf-8")
    assert all(index.count(f'href="{name}.html"') == 1 for name in REPORTS)
    bottlenecks = (rendered / "02_stage_bottlenecks.html").read_text(encoding="utf-8")
    assert f"«{sample.PLANTED['bottleneck_stage']}» (Основная воронка) holds" in bottlenecks
    assert f"{sample.PLANTED['slow_manager']} is slow in" in bottlenecks
    roi = (rendered / "04_crm_adoption_roi.html").read_text(encoding="utf-8")
    assert "After adoption, revenue changed by" in roi and "ROI to date" in roi
    weekly = (rendered / "05_weekly_kpi.html").read_text(encoding="utf-8")
    drop = sample.PLANTED["activity_drop_manager"]
    assert f"{drop}: " in weekly and "fewer activities than expected" in weekly
    sources = (rendered / "06_sources_and_forecast.html").read_text(encoding="utf-8")
    assert f"«{sample.PLANTED['weak_source']}» converts" in sources


@pytest.mark.parametrize("name", REPORTS)
def test_report_loads_nothing_from_another_host(rendered, name):
    page = (rendered / f"{name}.html").read_text(encoding="utf-8")
    assert not LOADING.findall(page)
    assert page.count("window.vegaEmbed=") == 1  # the Vega bundle inlined once
    assert "<script>alert" not in page  # CRM text is escaped (the sample has none; fixtures do)


def test_papermill_with_parameters_russian_one_manager(sample_db, tmp_path):
    out = tmp_path / "out.ipynb"
    render.execute(
        NOTEBOOK,
        out,
        {
            "db_path": str(sample_db),
            "as_of": "2026-11-01",
            "lang": "ru",
            "owner": sample.PLANTED["slow_manager"],
        },
    )
    text = out.read_text(encoding="utf-8")
    assert "Выводы" in text and sample.PLANTED["slow_manager"] in text
    assert '"output_type": "error"' not in text
    # a manager's page says whose it is in its heading
    assert f"— {sample.PLANTED['slow_manager']}</h1>" in text


def test_crm_text_is_escaped_and_tiny_data_renders(make_db, tmp_path):
    from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

    con, _ = make_db(SCENARIOS)
    con.close()
    db = tmp_path / "crm.duckdb"  # where make_db built it
    out = tmp_path / "html"
    for name in REPORTS:
        if name == "04_crm_adoption_roi":
            continue  # needs months of sales on both sides of an adoption: tested on its own below
        result = render.render_one(
            NOTEBOOKS_DIR / f"{name}.py",
            out,
            {"db_path": str(db), "as_of": AS_OF, "period_start": PERIOD_START},
        )
        assert result.error is None, result.error
        page = re.sub(r"<script.*?</script>", "", result.html.read_text(encoding="utf-8"), flags=re.S)
        assert 'Иван "Ваня" <b>' not in page and "<script>alert" not in page  # never markup
        shown = ('Иван "Ваня" &lt;b&gt;', "&lt;script&gt;alert(1)&lt;/script&gt;")  # as text
        if name in ("01_pipeline_duration", "03_manager_funnels"):  # the others show no such row
            assert any(text in page for text in shown)


def test_adoption_report_with_another_yaml_and_too_little_history(sample_db, make_db, tmp_path):
    from crmkit import sample
    from crmkit.errors import CrmkitError
    from tests.fixtures.scenarios import SCENARIOS

    other = tmp_path / "other.yml"
    other.write_text(
        sample.ADOPTION_YAML.format(adoption_date="2025-09-01").replace("seats: 11", "seats: 30")
    )
    out = tmp_path / "out.ipynb"
    render.execute(
        NOTEBOOKS_DIR / "04_crm_adoption_roi.py",
        out,
        {"db_path": str(sample_db), "as_of": "2026-11-01", "adoption_path": str(other), "lang": "ru"},
    )
    text = out.read_text(encoding="utf-8")
    assert "2025-09-01" in text and "Внедрение CRM" in text
    con, _ = make_db(SCENARIOS)  # two months of data: a clear message, not a traceback
    con.close()
    with pytest.raises(CrmkitError, match="of sales before the adoption .* needs at least 3"):
        render.execute(
            NOTEBOOKS_DIR / "04_crm_adoption_roi.py",
            tmp_path / "x.ipynb",
            {"db_path": str(tmp_path / "crm.duckdb"), "adoption_path": str(other)},
        )


def test_failing_notebook_is_named_with_its_cell(sample_db, tmp_path):
    from crmkit.errors import CrmkitError

    with pytest.raises(CrmkitError, match=r"01_pipeline_duration.py: cell \d+ failed"):
        render.execute(NOTEBOOK, tmp_path / "x.ipynb", {"db_path": str(tmp_path / "missing.duckdb")})


def test_nbval_lax_on_defaults(default_db, tmp_path):
    import jupytext

    notebook = tmp_path / "01_pipeline_duration.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), notebook)
    shutil.copy(notebook, NOTEBOOKS_DIR / ".nbval_01.ipynb")
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--nbval-lax",
                "-q",
                "-p",
                "no:cacheprovider",
                str(NOTEBOOKS_DIR / ".nbval_01.ipynb"),
            ],
            capture_output=True,
            text=True,
            cwd=NOTEBOOKS_DIR,
        )
    finally:
        (NOTEBOOKS_DIR / ".nbval_01.ipynb").unlink(missing_ok=True)
    assert run.returncode == 0, run.stdout[-2000:]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")


def headless(page: Path, *args: str, budget_ms: int = 8000) -> subprocess.CompletedProcess:
    """Headless Chromium on `page` with the network off (no proxy reachable, no name resolves)
    and a fresh profile; `args` say what to do (--dump-dom, --print-to-pdf=…)."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--proxy-server=127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--virtual-time-budget={budget_ms}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.mark.browser
@pytest.mark.parametrize("name", REPORTS)
def test_charts_draw_offline_in_chromium(rendered, name):
    run = headless(rendered / f"{name}.html", "--dump-dom")
    dom = run.stdout
    charts = dom.split('id="crmkit-chart-')[1:]  # each chart's div up to the next chart
    assert len(charts) == CHARTS[name], run.stderr[-1000:]
    assert all("<svg" in chart for chart in charts), "a chart did not draw"
    assert ">Chart failed:" not in dom  # the error text vegaEmbed would put in the div


def test_a_window_without_deals_renders_and_says_so(tmp_path):
    """A database from a CRM's export (amoCRM's API fixture, deals of November 2025) seen a year
    later: the 12-month window holds no deal. Every report renders; empty charts say why."""
    from crmkit.db import connect
    from crmkit.importers import load

    db = tmp_path / "crm.duckdb"
    con = connect(db)
    load(con, [Path(__file__).parent / "fixtures" / "amocrm" / "api"], time_zone="Europe/Moscow")
    con.close()
    said = {
        name: "No data for this chart in the window" in html
        for name, html in _every_report_but_04(db, tmp_path / "html", "2027-01-01").items()
    }
    # Stage and source charts have no rows to draw; the others show zeros.
    assert said == {
        "00_data_audit": False,
        "01_pipeline_duration": False,
        "02_stage_bottlenecks": True,
        "03_manager_funnels": False,  # its funnels keep the stages, at zero
        "05_weekly_kpi": False,  # a row of zeros per week
        "06_sources_and_forecast": True,
    }


def test_an_empty_database_renders_every_report(tmp_path):
    """A database with no rows at all (a first load refused leaves one): every report renders;
    report 03's funnel had no stage to list (it failed on a column it never made) and report 05's
    events per manager no manager to draw (it failed on the first week of none)."""
    from crmkit.db import connect

    db = tmp_path / "crm.duckdb"
    connect(db).close()
    shown = _every_report_but_04(db, tmp_path / "html", "2026-11-02")
    # no activity was ever recorded: the activity sections say so instead of drawing zeros
    assert "Not in this export: no calls, e-mails, meetings or tasks are recorded" in shown["05_weekly_kpi"]


def _every_report_but_04(db: Path, out: Path, as_of: str) -> dict[str, str]:
    """Each report rendered (04 needs an adoption file: tested apart), asserting it rendered:
    its HTML by name."""
    shown = {}
    for name in REPORTS:
        if name == "04_crm_adoption_roi":
            continue
        result = render.render_one(NOTEBOOKS_DIR / f"{name}.py", out, {"db_path": str(db), "as_of": as_of})
        assert result.error is None, result.error
        shown[name] = result.html.read_text(encoding="utf-8")
    return shown


def test_without_an_adoption_file_report_04_says_what_it_needs(sample_db, tmp_path):
    """A client's database with no adoption.yml beside it (and the sample's nowhere near): every
    report renders, exit 0, and report 04 explains what it needs instead of borrowing numbers."""
    import shutil
    import subprocess
    import sys

    client = tmp_path / "client"
    client.mkdir()
    shutil.copy(sample_db, client / "crm.duckdb")  # sample_db has adoption.yml beside it; this has none
    out = tmp_path / "reports"
    run = subprocess.run(
        [sys.executable, "-m", "crmkit.cli", "report", "--db", str(client / "crm.duckdb"),
         "--month", "2026-10", "--out", str(out), "--notebooks", "04", "01", "--jobs", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "2 rendered, 0 failed" in run.stdout
    page = (out / "2026-10" / "04_crm_adoption_roi.html").read_text(encoding="utf-8")
    assert "No CRM export holds those facts: write them in adoption.yml beside the database" in page
    assert "adoption_date:" in page and "ROI to date" not in page  # the fields shown, no figure


def test_russian_reports_go_beside_the_english_ones(tmp_path):
    """`--lang ru` writes reports/<period>/ru/: the English report of the same period stays."""
    from crmkit.db import connect
    from crmkit.importers import load
    from tests.conftest import write_tables
    from tests.fixtures.scenarios import AS_OF, SCENARIOS

    con = connect(tmp_path / "crm.duckdb")
    load(con, [write_tables(tmp_path / "csv", SCENARIOS)])
    con.close()
    out = tmp_path / "reports"
    for lang in ("en", "ru"):
        [result] = render.render_all(
            db=tmp_path / "crm.duckdb", out_root=out, as_of=AS_OF, period="p", lang=lang, names=["00"], jobs=1
        )
        assert result.error is None, result.error
    english = (out / "p" / "00_data_audit.html").read_text(encoding="utf-8")
    russian = (out / "p" / "ru" / "00_data_audit.html").read_text(encoding="utf-8")
    assert "Data audit" in english and "Аудит данных" in russian
    assert "p/ru/index.html" in (out / "index.html").read_text(encoding="utf-8")


def test_report_04_in_russian_says_what_it_needs_without_english_comments(tmp_path):
    target = tmp_path / "04.html"
    render.write_notice(target, "Внедрение CRM", "Нужен adoption.yml", "ru")
    page = target.read_text(encoding="utf-8")
    assert "adoption_date: 2025-05-01" in page and "gross_margin: 0.35" in page
    assert "# the first day" not in page and "share of revenue" not in page


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets: Linux and macOS")
def test_each_render_kernel_has_its_own_sockets(tmp_path):
    # TCP ports raced between renders starting together ("Address already in use"); jupyter_client's
    # own socket names sit in the shared working directory (two kernels answered each other):
    # each render's kernel talks over Unix sockets inside that render's own folder
    from crmkit.render import _kernel_manager

    first, second = (_kernel_manager(tmp_path / name)() for name in ("a", "b"))
    assert (first.transport, second.transport) == ("ipc", "ipc")
    assert first.ip == str(tmp_path / "a" / "kernel") and second.ip == str(tmp_path / "b" / "kernel")


def test_a_render_kernel_is_shut_down_without_an_interrupt(tmp_path, monkeypatch):
    # jupyter_client sends SIGINT before the shutdown request; a finished render's kernel then
    # printed "KeyboardInterrupt caught in kernel" on a batch's console now and then. The render's
    # manager asks it to shut down without one; an interrupt outside a shutdown still goes through.
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from crmkit.render import _kernel_manager

    interrupts = []

    async def record(self):
        interrupts.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", record)

    async def start_interrupt_stop():
        manager = _kernel_manager(tmp_path)(kernel_name="python3")
        await manager.start_kernel()
        await manager._async_interrupt_kernel()
        await manager.shutdown_kernel()
        return await manager.is_alive()

    assert asyncio.run(start_interrupt_stop()) is False
    assert interrupts == [False]  # the one asked for, none at the shutdown


# Method words a sales director does not read: the glossary at a report's end names them
JARGON = ("Kaplan", "censor", "shrunk", "shrinkage", "empirical Bayes", "Brookmeyer", "Poisson", "bootstrap",
          "Benjamini", "vendor-style", "evidence rules")  # fmt: skip


def test_no_method_jargon_before_the_glossary_in_english(rendered):
    found = {}
    for name in REPORTS:
        page = (rendered / f"{name}.html").read_text(encoding="utf-8")
        page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
        whole = re.sub(r"<[^>]+>", " ", page)
        text = whole.split("How this was computed")[0]
        assert len(text) > 0.6 * len(whole)  # the glossary is the page's end: the rest is checked
        words = sorted({word for word in JARGON if word.lower() in text.lower()})
        if words:
            found[name] = words
    assert found == {}
