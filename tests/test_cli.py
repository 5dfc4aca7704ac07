"""The command line is a thin wrapper: its outputs and exit codes, on the sample database."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def crmkit(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "crmkit.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_metrics_list_and_csv(sample_db, tmp_path):
    listed = crmkit("metrics", "--list")
    assert listed.returncode == 0
    for name in (
        "won_cycle",
        "time_to_close",
        "stale_deals",
        "stage_durations",
        "stage_conversion",
        "manager_scorecard",
        "whatif_stage",
    ):
        assert name in listed.stdout
    out = tmp_path / "whatif.csv"
    run = crmkit(
        "metrics",
        "whatif_stage",
        "--db",
        sample_db,
        "--as-of",
        "2026-11-01",
        "--csv",
        out,
        "--param",
        "stage=Коммерческое предложение",
        "--param",
        "reduction=0.3",
    )
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out)
    assert table["stage"].tolist() == ["Коммерческое предложение"] and table["reduction"].iloc[0] == 0.3


def test_metrics_need_as_of_and_known_options(sample_db):
    missing = crmkit("metrics", "won_cycle", "--db", sample_db)
    assert missing.returncode == 2 and "--as-of" in missing.stderr
    wrong = crmkit("metrics", "win_rates", "--db", sample_db, "--as-of", "2026-11-01", "--param", "x=1")
    assert wrong.returncode == 2 and "its own options: by" in wrong.stderr and "Traceback" not in wrong.stderr


def test_report_for_one_owner_goes_to_its_folder(sample_db, tmp_path):
    run = crmkit(
        "report",
        "--db",
        sample_db,
        "--month",
        "2026-10",
        "--out",
        tmp_path,
        "--notebooks",
        "01",
        "--owner",
        "Сергей Волков",
        "--jobs",
        "1",
    )
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "2026-10" / "owner-сергей-волков"
    assert (folder / "01_pipeline_duration.html").exists() and (folder / "index.html").exists()


def test_batch_over_months_and_databases_survives_a_broken_one(sample_db, tmp_path):
    import shutil

    from crmkit import sample

    for client in ("client_a", "client_b"):
        shutil.copy(sample_db, tmp_path / f"{client}.duckdb")
    sample.write_adoption(tmp_path)  # notebook 04 finds it beside the databases
    (tmp_path / "broken.duckdb").write_bytes(b"this is not a database")
    out = tmp_path / "reports"
    run = crmkit(
        "report",
        "--db",
        tmp_path / "client_a.duckdb",
        tmp_path / "client_b.duckdb",
        tmp_path / "broken.duckdb",
        "--month",
        "2026-09..2026-10",
        "--notebooks",
        "00",
        "04",  # the adoption report: it finds adoption.yml beside the databases
        "--out",
        out,
        "--jobs",
        "2",
    )
    # 3 databases × 2 months × 2 reports = 12 jobs; the broken database's 4 fail
    assert run.returncode == 1  # one database failed: the batch says so at the end …
    assert "8 rendered, 4 failed" in run.stdout
    for client in ("client_a", "client_b"):  # … and the others rendered both reports
        for month in ("2026-09", "2026-10"):
            assert sorted(p.name[:2] for p in (out / client / month).glob("0*.html")) == ["00", "04"]
            adoption = next((out / client / month).glob("04*.html")).read_text(encoding="utf-8")
            assert "crmkit-needs" not in adoption  # the report itself, not the note asking for the file
    assert run.stderr.count("broken/2026-") == 4 and "cannot open" in run.stderr
    root = (out / "index.html").read_text(encoding="utf-8")
    assert root.count("/index.html") == 6  # every client and period rendered, the broken one's failures too


def test_load_prints_the_accounting_and_names_a_wrong_format(tmp_path):
    fixtures = Path(__file__).parent / "fixtures"
    db = tmp_path / "crm.duckdb"
    done = crmkit("load", fixtures / "amocrm" / "api", "--db", db, "--tz", "Europe/Moscow")
    assert done.returncode == 0, done.stderr
    assert "leads.json [deals]: read 4 = loaded 3 + rejected 1" in done.stdout
    assert "1 × deleted in amoCRM (is_deleted)" in done.stdout
    # stage_changes: 5 events that are stage changes (one a tag: rejected) + the creation entries of the
    # 2 leads with events (203 has none: synthetic, made after the load, not read)
    assert "by table:" in done.stdout and "stage_changes  read         7  loaded         6" in done.stdout
    wrong = crmkit("load", fixtures / "bitrix24" / "crm.deal.list.json", "--db", db, "--format", "amocrm")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert "crm.deal.list.json: not an amoCRM API response" in wrong.stderr


def test_load_offers_every_importer():
    from crmkit.cli import parser
    from crmkit.importers import FORMAT_NAMES

    load = parser()._subparsers._group_actions[0].choices["load"]
    fmt = next(action for action in load._actions if action.dest == "format")
    assert set(fmt.choices) == set(FORMAT_NAMES)


def test_the_version_is_one_line(capsys):
    from crmkit import __version__
    from crmkit.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"crmkit {__version__}\n"


def test_a_month_outside_the_data_is_refused_with_its_span(sample_db, tmp_path):
    # the sample's deals run from November 2025 (created) to October 2026 (its last events)
    for month in ("2019-01", "2030-01"):
        out = tmp_path / month
        run = crmkit("report", "--db", sample_db, "--month", month, "--out", out, "--notebooks", "01")
        assert run.returncode == 2, run.stderr
        assert f"--month {month}: crm.duckdb holds data from " in run.stderr and "to 2026-10" in run.stderr
        assert "Traceback" not in run.stderr and not (tmp_path / month / "index.html").exists()


def test_a_batch_of_databases_takes_each_ones_last_month(sample_db, tmp_path):
    """Two clients whose data ends in different months, no --month: each is reported as of its
    own last month (the Salesforce-like one had been reported as of the other's and failed)."""
    from crmkit.db import connect
    from crmkit.importers import load

    other = tmp_path / "other.duckdb"
    con = connect(other)
    load(con, [Path(__file__).parent / "fixtures" / "amocrm" / "api"], time_zone="Europe/Moscow")
    con.close()
    out = tmp_path / "out"
    run = crmkit("report", "--db", sample_db, other, "--out", out, "--notebooks", "01", "--jobs", "1")
    assert run.returncode == 0, run.stderr
    folders = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").glob("*/*"))
    # the amoCRM fixture's deals and events are of November 2025, the sample's end in October 2026
    assert folders == ["crm/2026-10", "other/2025-11"]


def test_every_option_says_what_it_is_and_its_default():
    import argparse

    from crmkit.cli import parser

    top = parser()
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    eight = {"sample", "load", "metrics", "pull", "schedule", "export", "report", "audit"}
    assert set(commands.choices) == eight
    for name, command in commands.choices.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                option = f"crmkit {name} {action.option_strings[0]}"
                assert action.help, f"{option} has no help"
                if action.default not in (None, False, [], ""):
                    assert "default" in formatter._get_help_string(action), f"{option} shows no default"
    assert "(default: en)" in commands.choices["report"].format_help()
