"""Salesforce REST API (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta): the SOQL
queries of Opportunity, OpportunityHistory, OpportunityStage, User, Account, Task, Event and, where
the org has several currencies, CurrencyType and DatedConversionRate — written as the Data Export
files the Salesforce importer reads (`<Object>.csv`, the API field names as headers), the
responses themselves kept beside them in `pages/`.

- Address: the org's instance, `https://MYDOMAIN.my.salesforce.com` (`--base-url`); the token: an
  access token (a connected app's, or a session id), `CRMKIT_SALESFORCE_TOKEN`, sent as
  `Authorization: Bearer`. The queries go through the same HTTP client as the other CRMs
  (simple-salesforce builds `https://` addresses only, which a local test server cannot answer).
- `SELECT FIELDS(STANDARD)`: every standard field, CurrencyIsoCode included where the org has it.
- Paging: `nextRecordsUrl` until `done`.
- Changes since the last pull: `WHERE SystemModstamp > <cursor>` (OpportunityHistory by
  `CreatedDate`: its rows are never changed); stages, users, accounts and rates whole. The load
  compares a changed opportunity's first new save with the stage already stored.
- Pace: 10 requests a second; a 429 or 5xx waits and tries again.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from crmkit.pull.base import FOLDER, Api, Limits, Pulled, Resource, cursor, pull, token

CRM = "Salesforce"
SETTING = "CRMKIT_SALESFORCE_TOKEN"
VERSION = "v60.0"
PER_SECOND = 10
# object, the field that says it changed (None: pulled whole), not in every org
OBJECTS = (
    ("OpportunityStage", None, False),
    ("User", None, False),
    ("Account", None, False),
    ("CurrencyType", None, True),
    ("DatedConversionRate", None, True),
    ("Opportunity", "SystemModstamp", False),
    ("OpportunityHistory", "CreatedDate", False),
    ("Task", "SystemModstamp", False),
    ("Event", "SystemModstamp", False),
)


def _resources(since: int | None) -> list[Resource]:
    moment = None if since is None else datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = []
    for name, changed, optional in OBJECTS:
        soql = f"SELECT FIELDS(STANDARD) FROM {name}"
        if changed and moment:
            soql += f" WHERE {changed} > {moment}"
        found.append(Resource(name, f"/services/data/{VERSION}/query", {"q": soql}, optional=optional))
    return found


def _next_page(page: dict, url: str, params: dict | None) -> tuple[str, None] | None:
    following = page.get("nextRecordsUrl")
    return (following, None) if following and not page.get("done", True) else None


def _records(name: str, page: dict) -> int:
    return len(page.get("records") or [])


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_export(folder: Path) -> dict[str, int]:
    """The pulled pages of each object as the Data Export's `<Object>.csv`; the pages move to
    `pages/` (kept as they came). Returns the rows written per object."""
    pages_dir = folder / "pages"
    pages_dir.mkdir(exist_ok=True)
    written = {}
    for name, _, _ in OBJECTS:
        pages = sorted(folder.glob(f"{name}-*.json"))
        records = [r for p in pages for r in json.loads(p.read_text(encoding="utf-8")).get("records") or []]
        for page in pages:
            page.replace(pages_dir / page.name)
        if not records:  # none (or none changed): no file, as an export of nothing would have none
            continue
        fields = list(dict.fromkeys(k for r in records for k in r if k != "attributes"))
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow(fields)
            writer.writerows([_value(r.get(f)) for f in fields] for r in records)
        written[name] = len(records)
    return written


def loadable(folder: Path) -> bool:
    """A pull that found no changed opportunity has nothing the importer can load."""
    return (folder / "Opportunity.csv").exists()


def run(out: Path, base_url: str, *, progress=None, since: int | None | str = FOLDER,
        transport: httpx.BaseTransport | None = None, limits: Limits | None = None) -> Pulled:  # fmt: skip
    headers = {"Authorization": f"Bearer {token(SETTING)}", "Accept": "application/json"}
    api = Api(base_url.rstrip("/"), headers, per_second=PER_SECOND, setting=SETTING, crm=CRM,
              transport=transport, limits=limits)  # fmt: skip
    pulled = pull(
        api,
        _resources(cursor(out, since)),
        out,
        next_page=_next_page,
        records_of=_records,
        progress=progress,
        since=cursor(out, since),
    )
    write_export(pulled.folder)
    return pulled
