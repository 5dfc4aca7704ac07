"""The command line is a thin wrapper: its outputs and exit codes, on the sample database."""

import subprocess
import sys

import pandas as pd


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
