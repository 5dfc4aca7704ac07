"""Running unattended: the cron lines for the Monday KPI table and the monthly set (from a pull,
if one is named), the secrets file cron reads instead of a shell's environment, and delivery of
what was rendered by e-mail.

- Secrets (`CRMKIT_AMOCRM_TOKEN`, `CRMKIT_SMTP_PASSWORD`, …) come from the environment, or from
  `~/.config/crmkit/env` (`CRMKIT_ENV_FILE` names another): KEY=VALUE lines, outside the repository,
  never on a command line, so never in a crontab, a log or `ps`.
- Mail: SMTP settings from the environment — CRMKIT_SMTP_HOST, CRMKIT_SMTP_PORT (587),
  CRMKIT_SMTP_USER, CRMKIT_SMTP_PASSWORD, CRMKIT_SMTP_FROM, CRMKIT_SMTP_TLS (starttls, ssl or none).
"""

from __future__ import annotations

import mimetypes
import os
import re
import shlex
import smtplib
import subprocess
import sys
import unicodedata
from email.message import EmailMessage
from pathlib import Path

from crmkit.errors import CrmkitError

ENV_FILE = Path.home() / ".config" / "crmkit" / "env"
ADDRESS = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\".]+(\.[^@\s<>(),;:\".]+)*")
BEGIN, END = "# >>> crmkit schedule >>>", "# <<< crmkit schedule <<<"


def load_env_file() -> None:
    """KEY=VALUE lines of the secrets file into the environment (what the environment already
    holds wins); a missing file is no error."""
    path = Path(os.environ.get("CRMKIT_ENV_FILE") or ENV_FILE)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            os.environ.setdefault(key.strip().removeprefix("export ").strip(), value.strip().strip("'\""))


def cron_word(value) -> str:
    """One argument of a cron command: shell-quoted, `%` escaped (cron would cut the command
    there and feed the rest to its standard input); a control character — a newline would start
    a cron entry of its own — is refused."""
    text = str(value)
    bad = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise CrmkitError(
            f"schedule: {text[:40]!r} holds a control character ({bad!r}), which cannot be in a cron line; "
            "give it without one"
        )
    return shlex.quote(text).replace("%", "\\%")


def cron_lines(*, db: Path, out: Path, lang: str, pull: dict | None = None, mail: str = "") -> list[str]:
    """The crontab block: a pull at 06:00 on Mondays and on the 1st (when `pull` names one), the
    weekly table at 07:00 every Monday for the week just finished, every report at 07:00 on the
    1st for the month just finished. Every argument goes through `cron_word`."""
    q = cron_word
    here = q(Path.cwd())
    crmkit = q(Path(sys.executable).with_name("crmkit"))
    common = f"--db {q(db)} --out {q(out)} --lang {q(lang)}"
    deliver = f" --mail {q(mail)}" if mail else ""
    lines = [BEGIN]
    if pull:
        address = f" --base-url {q(pull['base_url'])}" if pull.get("base_url") else ""
        fetch = (
            f"{crmkit} pull {q(pull['crm'])}{address} "
            f"--out {q(pull['out'])} --load --db {q(db)} --tz {q(pull['tz'])}"
        )
        lines += [f"0 6 * * 1  cd {here} && {fetch}", f"0 6 1 * *  cd {here} && {fetch}"]
    week = r"$(date -d 'last monday - 7 days' +\%F)"
    month = r"$(date -d 'last month' +\%Y-\%m)"
    lines += [
        f"0 7 * * 1  cd {here} && {crmkit} report {common} --week {week} --notebooks 05{deliver}",
        f"0 7 1 * *  cd {here} && {crmkit} report {common} --month {month}{deliver}",
        END,
    ]
    return lines


def install(lines: list[str]) -> str:
    """The block into the user's crontab, replacing an earlier crmkit block and keeping every
    other line; returns the crontab as written."""
    crontab = os.environ.get("CRMKIT_CRONTAB", "crontab")
    try:
        current = subprocess.run([crontab, "-l"], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise CrmkitError("no crontab command here: copy the lines `crmkit schedule` prints") from exc
    kept, inside = [], False
    for line in current.stdout.splitlines() if current.returncode == 0 else []:
        if line.strip() == BEGIN:
            inside = True
        if not inside:
            kept.append(line)
        if line.strip() == END:
            inside = False
    table = "\n".join(kept + lines) + "\n"
    written = subprocess.run([crontab, "-"], input=table, capture_output=True, text=True, check=False)
    if written.returncode != 0:
        raise CrmkitError(f"crontab refused the lines: {written.stderr.strip() or 'no reason given'}")
    return table


def addresses(to: str) -> str:
    """`--mail`'s addresses, checked before any work is done (not after a 40-second render): each a
    name@domain, comma-separated, no control character (a CR or LF would add a mail header)."""
    from email.utils import getaddresses

    found = getaddresses([to]) if not any(unicodedata.category(c) == "Cc" for c in to) else []
    wrong = not found or not all(ADDRESS.fullmatch(address) for _, address in found)
    if wrong:
        raise CrmkitError(
            f"--mail {to[:60]!r}: not e-mail addresses; give name@example.com, several separated by commas"
        )
    return to


def send(to: str, subject: str, body: str, attachments: list[Path]) -> int:
    """The rendered reports to `to` (comma-separated addresses) through the SMTP settings of the
    environment; returns the number of files attached."""
    host = os.environ.get("CRMKIT_SMTP_HOST", "").strip()
    if not host:
        raise CrmkitError("--mail needs an SMTP server: set CRMKIT_SMTP_HOST (and _PORT, _USER, _PASSWORD)")
    port = int(os.environ.get("CRMKIT_SMTP_PORT", "587"))
    security = os.environ.get("CRMKIT_SMTP_TLS", "starttls").lower()
    user, password = os.environ.get("CRMKIT_SMTP_USER", ""), os.environ.get("CRMKIT_SMTP_PASSWORD", "")
    message = EmailMessage()
    message["From"] = os.environ.get("CRMKIT_SMTP_FROM") or user or "crmkit@localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    for path in attachments:
        kind = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").split("/")
        message.add_attachment(path.read_bytes(), maintype=kind[0], subtype=kind[1], filename=path.name)
    connect = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
    try:
        with connect(host, port, timeout=60) as smtp:
            if security == "starttls":
                smtp.starttls()
            if user:
                smtp.login(user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise CrmkitError(f"--mail: the SMTP server {host}:{port} did not take the message ({exc})") from None
    return len(attachments)
