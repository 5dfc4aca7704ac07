"""Pipedrive API v1 (https://developers.pipedrive.com/docs/api/v1): the stages, the users, the deals
and each deal's flow (its stage changes) — the files the Pipedrive importer reads.

- Address: `https://api.pipedrive.com/v1` by default, or the company's own
  `https://COMPANY.pipedrive.com/api/v1` (`--base-url`); the token: a personal API token,
  `CRMKIT_PIPEDRIVE_TOKEN`, sent as the `x-api-token` header (never in a URL).
- Paging: `start` and `limit` (500) by `additional_data.pagination` (`more_items_in_collection`,
  `next_start`).
- Changes since the last pull: the deals updated since then (`/v1/recents?items=deal`, from
  `since_timestamp`), and the flow of those deals only; the stages whole.
- Pace: 10 requests a second (Pipedrive's limits are per token and plan); a 429 waits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from crmkit.errors import CrmkitError
from crmkit.pull.base import FOLDER, Api, Limits, Pulled, Resource, cursor, pull, token

CRM = "Pipedrive"
SETTING = "CRMKIT_PIPEDRIVE_TOKEN"
BASE_URL = "https://api.pipedrive.com/v1"
PER_SECOND = 10
LIMIT = 500

STAGES = Resource("stages", "/stages", {"start": 0, "limit": LIMIT})
USERS = Resource("users", "/users")
ALL_DEALS = Resource("deals", "/deals", {"status": "all_not_deleted", "start": 0, "limit": LIMIT})
CHANGED_DEALS = Resource(
    "deals", "/recents", {"items": "deal", "start": 0, "limit": LIMIT}, since="since_timestamp"
)


def _next_page(page: dict, url: str, params: dict | None) -> tuple[str, dict] | None:
    paging = (page.get("additional_data") or {}).get("pagination") or {}
    if not paging.get("more_items_in_collection"):
        return None
    return url, {**(params or {}), "start": paging.get("next_start")}


def _records(name: str, page: dict) -> int:
    return len(page.get("data") or [])


def _since(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _deal_id(value, page: Path) -> int:
    """A deal's id as the integer Pipedrive gives: it goes into a URL and a file name."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    shown = repr(str(value)[:40])
    raise CrmkitError(f"Pipedrive: {page.name} holds a deal id {shown}, not a whole number; the pull stopped")


def _flows(work: Path) -> list[Resource]:
    """A flow to pull for each deal the deal pages hold (all of them, or those changed)."""
    ids = []
    for page in sorted(work.glob("deals-*.json")):
        for record in json.loads(page.read_text(encoding="utf-8")).get("data") or []:
            deal = record.get("data") if isinstance(record.get("data"), dict) else record  # /recents wraps
            if deal.get("id") is not None:
                ids.append(_deal_id(deal["id"], page))
    params = {"items": "dealChange", "start": 0, "limit": 100}
    return [Resource(f"flow-{i}", f"/deals/{i}/flow", params) for i in dict.fromkeys(ids)]


def run(out: Path, base_url: str | None, *, progress=None, since: int | None | str = FOLDER,
        transport: httpx.BaseTransport | None = None, limits: Limits | None = None) -> Pulled:  # fmt: skip
    base = (base_url or BASE_URL).rstrip("/")
    api = Api(base, {"x-api-token": token(SETTING), "Accept": "application/json"}, per_second=PER_SECOND,
              setting=SETTING, crm=CRM, transport=transport, limits=limits)  # fmt: skip
    changed_since = cursor(out, since)  # read once: it decides the deals asked for and is the pull's since
    deals = CHANGED_DEALS if changed_since is not None else ALL_DEALS
    return pull(
        api,
        [STAGES, USERS, deals],
        out,
        next_page=_next_page,
        records_of=_records,
        since_value=_since,
        progress=progress,
        since=changed_since,
        then=_flows,
    )
