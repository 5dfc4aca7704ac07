"""HubSpot CRM API v3 (https://developers.hubspot.com/docs/api/crm/deals): the deal pipelines, the
owners and the deals with every stage's "date entered" property — the files the HubSpot importer
reads.

- Address: `https://api.hubapi.com` by default (`--base-url`); the token: a private app's access
  token with the crm.objects.deals.read and crm.objects.owners.read scopes,
  `CRMKIT_HUBSPOT_TOKEN` (sent as `Authorization: Bearer`).
- The deals' properties: the usual ones and, for each stage of each pipeline (read first),
  `hs_v2_date_entered_<stage id>` and the legacy `hs_date_entered_<stage id>`.
- Paging: `limit` 100 and `after` from `paging.next.after`, to the end.
- Changes since the last pull: the search (`POST /crm/v3/objects/deals/search`) for
  `hs_lastmodifieddate` at or after the cursor (HubSpot's search returns at most 10,000 records:
  a bigger change set is pulled whole again with a first pull into a new folder).
- Pace: 10 requests a second (HubSpot allows 100 per 10 seconds to a private app); a 429 waits.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from crmkit.pull.base import FOLDER, Api, Limits, Pulled, Resource, cursor, pull, token

CRM = "HubSpot"
SETTING = "CRMKIT_HUBSPOT_TOKEN"
BASE_URL = "https://api.hubapi.com"
PER_SECOND = 10
LIMIT = 100
PROPERTIES = ("dealname", "pipeline", "dealstage", "amount", "deal_currency_code", "hubspot_owner_id",
              "createdate", "closedate", "hs_is_closed_won", "hs_is_closed", "closed_lost_reason",
              "hs_analytics_source", "hs_lastmodifieddate")  # fmt: skip

PIPELINES = Resource("pipelines", "/crm/v3/pipelines/deals")
OWNERS = Resource("owners", "/crm/v3/owners", {"limit": LIMIT})


def _next_page(page: dict, url: str, params: dict | None) -> tuple[str, dict] | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return (url, {**(params or {}), "after": after}) if after else None


def _records(name: str, page: dict) -> int:
    return len(page.get("results") or [])


def _properties(work: Path) -> list[str]:
    stages = [
        stage["id"]
        for page in sorted(work.glob("pipelines-*.json"))
        for pipeline in json.loads(page.read_text(encoding="utf-8")).get("results") or []
        for stage in pipeline.get("stages") or []
    ]
    return [*PROPERTIES, *(f"hs_{kind}date_entered_{stage}" for stage in stages for kind in ("v2_", ""))]


def _deals(since: int | None):
    """The deals resource, once the pipelines say which properties to ask for: all of them on the
    first pull, the search for those modified since the cursor afterwards."""

    def then(work: Path) -> list[Resource]:
        properties = _properties(work)
        if since is None:
            params = {"limit": LIMIT, "archived": "false", "properties": ",".join(properties)}
            return [Resource("deals", "/crm/v3/objects/deals", params)]
        search = {
            "filterGroups": [{"filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since * 1000)}]}],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": properties,
            "limit": LIMIT,
        }  # fmt: skip
        return [Resource("deals", "/crm/v3/objects/deals/search", body=search)]

    return then


def run(out: Path, base_url: str | None, *, progress=None, since: int | None | str = FOLDER,
        transport: httpx.BaseTransport | None = None, limits: Limits | None = None) -> Pulled:  # fmt: skip
    api = Api((base_url or BASE_URL).rstrip("/"),
              {"Authorization": f"Bearer {token(SETTING)}", "Accept": "application/json"},
              per_second=PER_SECOND, setting=SETTING, crm=CRM, transport=transport,
              limits=limits)  # fmt: skip
    return pull(
        api,
        [PIPELINES, OWNERS],
        out,
        next_page=_next_page,
        records_of=_records,
        progress=progress,
        since=cursor(out, since),
        then=_deals(cursor(out, since)),
    )
