"""Bitrix24 REST through an incoming webhook (https://apidocs.bitrix24.com): the deals, the stage
and source lists, the pipelines (deal categories), the stage history, activities, telephony and
users — the responses the Bitrix24 importer reads.

- Address: the webhook's URL up to its secret, `https://PORTAL.bitrix24.ru/rest/USER_ID/`
  (`--base-url`); the secret code that follows it in the URL: `CRMKIT_BITRIX24_TOKEN`. The secret
  is part of every request's path, so no message ever shows a request's URL.
- Paging: 50 records a response; `start` set to the response's `next` until it has none.
- Changes since the last pull: `filter[>DATE_MODIFY]` (deals), `filter[>CREATED_TIME]` (stage
  history: entries are never changed), `filter[>LAST_UPDATED]` (activities),
  `FILTER[>CALL_START_DATE]` (telephony); stages, pipelines and users whole.
- Pace: Bitrix24 allows about 2 requests a second per portal; beyond it answers 503
  QUERY_LIMIT_EXCEEDED, which waits and tries again; a wrong or revoked webhook is 401.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from crmkit.pull.base import FOLDER, Api, Limits, Pulled, Resource, cursor, pull, token

CRM = "Bitrix24"
SETTING = "CRMKIT_BITRIX24_TOKEN"
PER_SECOND = 2

RESOURCES = [
    Resource("crm.status.list", "crm.status.list.json", {"order[SORT]": "ASC"}),
    Resource("crm.category.list", "crm.category.list.json", {"entityTypeId": 2}),
    Resource("user.get", "user.get.json"),
    Resource("crm.deal.list", "crm.deal.list.json", {"select[]": ["*", "UF_*"], "order[ID]": "ASC"},
             "filter[>DATE_MODIFY]"),
    Resource("crm.stagehistory.list", "crm.stagehistory.list.json", {"entityTypeId": 2, "order[ID]": "ASC"},
             "filter[>CREATED_TIME]"),
    Resource("crm.activity.list", "crm.activity.list.json", {"order[ID]": "ASC"}, "filter[>LAST_UPDATED]"),
    Resource("voximplant.statistic.get", "voximplant.statistic.get.json", {"SORT": "ID", "ORDER": "ASC"},
             "FILTER[>CALL_START_DATE]"),
]  # fmt: skip


def _next_page(page: dict, url: str, params: dict | None) -> tuple[str, dict] | None:
    following = page.get("next")
    if following is None:
        return None
    return url, {**(params or {}), "start": following}


def _records(name: str, page: dict) -> int:
    result = page.get("result")
    if isinstance(result, dict):
        result = next((v for v in result.values() if isinstance(v, list)), [])
    return len(result) if isinstance(result, list) else 0


def _since(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def run(out: Path, base_url: str, *, progress=None, since: int | None | str = FOLDER,
        transport: httpx.BaseTransport | None = None, limits: Limits | None = None) -> Pulled:  # fmt: skip
    api = Api(
        f"{base_url.rstrip('/')}/{token(SETTING)}/",
        {"Accept": "application/json"},
        per_second=PER_SECOND,
        setting=SETTING,
        crm=CRM,
        shown_url=base_url,
        transport=transport, limits=limits,
    )
    return pull(
        api,
        RESOURCES,
        out,
        next_page=_next_page,
        records_of=_records,
        since_value=_since,
        progress=progress,
        since=cursor(out, since),
    )
