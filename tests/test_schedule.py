"""Unattended runs: the cron lines (`crmkit schedule`), installing them without touching the rest
of a crontab, secrets from a file outside the repository, and the reports mailed through SMTP
(a local aiosmtpd server)."""

import os
import socket
import stat
import sys

import pytest

from crmkit.cli import main
from crmkit.schedule import BEGIN, END, load_env_file


def test_the_cron_lines_pull_then_render_the_week_and_the_month(capsys, monkeypatch):
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", "tok-secret-1")
    code = main(["schedule", "--db", "data/client.duckdb", "--lang", "ru", "--pull", "amocrm",
                 "--base-url", "https://example.amocrm.ru", "--raw", "data/raw/amocrm",
                 "--tz", "Europe/Moscow", "--mail", "boss@example.com"])  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == BEGIN and lines[-1] == END and len(lines) == 6
    pulls, week, month = lines[1:3], lines[3], lines[4]
    assert pulls[0].startswith("0 6 * * 1 ") and pulls[1].startswith("0 6 1 * * ")
    assert all("pull amocrm --base-url https://example.amocrm.ru" in p and "--load" in p for p in pulls)
    assert week.startswith("0 7 * * 1 ")
    assert "--week $(date -d 'last monday - 7 days' +\\%F) --notebooks 05" in week
    assert month.startswith("0 7 1 * * ") and "--month $(date -d 'last month' +\\%Y-\\%m)" in month
    assert all("--mail boss@example.com" in line for line in (week, month))
    assert "tok-secret-1" not in "\n".join(lines)  # a token is never on a command line


def test_install_replaces_its_own_block_and_keeps_the_rest(tmp_path, monkeypatch, capsys):
    table = tmp_path / "crontab.txt"
    table.write_text("MAILTO=me@example.com\n0 3 * * * /usr/bin/backup\n")
    fake = tmp_path / "crontab"  # `crontab -l` prints the file, `crontab -` replaces it
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nf = {str(table)!r}\n"
        "if sys.argv[1] == '-l':\n    print(open(f).read(), end='')\n"
        "else:\n    open(f, 'w').write(sys.stdin.read())\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("CRMKIT_CRONTAB", str(fake))
    assert main(["schedule", "--install"]) == 0
    assert main(["schedule", "--install", "--lang", "ru"]) == 0  # again: one block, the new one
    written = table.read_text().splitlines()
    assert written[:2] == ["MAILTO=me@example.com", "0 3 * * * /usr/bin/backup"]
    assert written.count(BEGIN) == 1 and written.count(END) == 1
    assert all("--lang ru" in line for line in written[3:5])


def test_secrets_come_from_a_file_outside_the_repository(tmp_path, monkeypatch):
    env = tmp_path / "env"
    env.write_text("# crmkit secrets\nexport CRMKIT_AMOCRM_TOKEN='from-file'\nCRMKIT_SMTP_HOST=mail.local\n")
    monkeypatch.setenv("CRMKIT_ENV_FILE", str(env))
    monkeypatch.delenv("CRMKIT_AMOCRM_TOKEN", raising=False)
    monkeypatch.setenv("CRMKIT_SMTP_HOST", "already-set")
    load_env_file()
    assert os.environ["CRMKIT_AMOCRM_TOKEN"] == "from-file"
    assert os.environ["CRMKIT_SMTP_HOST"] == "already-set"  # the environment wins


def test_reports_are_mailed_with_the_index_and_each_report(sample_db, tmp_path, monkeypatch):
    controller_module = pytest.importorskip("aiosmtpd.controller")
    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port on the loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = controller_module.Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = {"CRMKIT_SMTP_HOST": "127.0.0.1", "CRMKIT_SMTP_PORT": str(port), "CRMKIT_SMTP_TLS": "none",
                    "CRMKIT_SMTP_FROM": "crmkit@example.com"}  # fmt: skip
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        out = tmp_path / "reports"
        code = main(["report", "--db", str(sample_db), "--month", "2026-10", "--notebooks", "00", "05",
                     "--out", str(out), "--mail", "boss@example.com"])  # fmt: skip
    finally:
        controller.stop()
    assert code == 0 and len(received) == 1
    message = received[0]
    assert message.rcpt_tos == ["boss@example.com"]
    from email import message_from_bytes

    parsed = message_from_bytes(message.content)
    assert parsed["Subject"] == "crmkit reports 2026-10"
    names = sorted(part.get_filename() for part in parsed.walk() if part.get_filename())
    assert names == ["00_data_audit.html", "05_weekly_kpi.html", "index.html"]


def test_mail_without_a_server_is_one_line(sample_db, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CRMKIT_SMTP_HOST", raising=False)
    monkeypatch.setenv("CRMKIT_ENV_FILE", str(tmp_path / "none"))
    code = main(["report", "--db", str(sample_db), "--month", "2026-10", "--notebooks", "00",
                 "--out", str(tmp_path / "r"), "--mail", "boss@example.com"])  # fmt: skip
    assert code == 2 and "CRMKIT_SMTP_HOST" in capsys.readouterr().err
