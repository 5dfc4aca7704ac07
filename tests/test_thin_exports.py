"""Reports on exports that lack what some sections need — the real Maven and Olist data (no stage
history, no activities) through their mappings, and Salesforce's demo org export (a stage history,
no activities): every report renders; a section the data cannot support says so in one line and
shows no chart, table or row of zeros; no chart is empty. Skipped without ../shared/data."""

import json
import re

import pytest

from crmkit import render
from crmkit.db import connect
from crmkit.i18n import t
from crmkit.importers import load
from crmkit.paths import PROJECT_ROOT

MAPPINGS = PROJECT_ROOT / "examples" / "mappings"
NOTEBOOKS = PROJECT_ROOT / "notebooks"
SHOWN = ("01_pipeline_duration", "02_stage_bottlenecks", "03_manager_funnels", "05_weekly_kpi",
         "06_sources_and_forecast")  # fmt: skip  (04 needs an adoption file, 00 is every check)
EMBED = re.compile(r'vegaEmbed\("#crmkit-chart-\w+", ')


def charts_of(page: str) -> list[dict]:
    """Every chart's Vega-Lite spec as the page embeds it."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(page, match.end())[0] for match in EMBED.finditer(page)]


def rows_drawn(spec: dict) -> int:
    datasets = spec.get("datasets", {})
    inline = spec.get("data", {}).get("values", [])
    return sum(len(rows) for rows in datasets.values()) + len(inline)


def rendered(db, out) -> dict[str, str]:
    pages = {}
    for name in SHOWN:
        result = render.render_one(NOTEBOOKS / f"{name}.py", out, {"db_path": str(db), "as_of": ""})
        assert result.error is None, result.error
        pages[name] = result.html.read_text(encoding="utf-8")
    return pages


@pytest.fixture(scope="module")
def thin(tmp_path_factory):
    from tests.conftest import SHARED_DATA as shared_data

    if not shared_data.exists():
        pytest.skip(f"real data not present at {shared_data} (only in the project's workspace)")
    root = tmp_path_factory.mktemp("thin")
    accounts = {}
    for name, source, options in (
        ("maven", "maven_crm", {"mapping_file": MAPPINGS / "maven_crm.yml"}),
        ("olist", "olist_funnel", {"mapping_file": MAPPINGS / "olist_funnel.yml"}),
        ("salesforce", "salesforce_sample", {"fmt": "salesforce"}),
    ):
        db = root / f"{name}.duckdb"
        con = connect(db)
        load(con, [shared_data / source], **options)
        con.close()
        accounts[name] = rendered(db, root / name)
    return accounts


@pytest.mark.parametrize("account", ["maven", "olist", "salesforce"])
def test_no_empty_chart(thin, account):
    for name, page in thin[account].items():
        for spec in charts_of(page):
            assert rows_drawn(spec) > 0, f"{account} {name}: an empty chart ({spec.get('title')})"


@pytest.mark.parametrize("account", ["maven", "olist"])
def test_sections_without_history_say_so_and_draw_nothing(thin, account):
    stages = thin[account]["02_stage_bottlenecks"]
    assert t("needs_stage_history", "en") in stages
    # the stage sections drew nothing: no chart on the page, the loss section a line of its own
    assert charts_of(stages) == []
    funnels = thin[account]["03_manager_funnels"]
    assert t("needs_stage_history", "en") in funnels and t("needs_activities", "en") not in stages


@pytest.mark.parametrize("account", ["maven", "olist", "salesforce"])
def test_no_row_of_zeros_for_activities_never_recorded(thin, account):
    weekly = thin[account]["05_weekly_kpi"]
    # the KPI tables have no call, proposal or meeting rows; the activity sections say why
    for block in ("calls_in", "calls_out", "calls_missed", "proposals", "meetings_held", "due_next_day"):
        assert f"<td>{t(block, 'en')}</td>" not in weekly, f"{account}: a row «{t(block, 'en')}»"
    assert t("needs_activities", "en") in weekly
    assert "p 1.000" not in weekly and "✗" not in weekly.split(t("needs_activities", "en"))[-1]
