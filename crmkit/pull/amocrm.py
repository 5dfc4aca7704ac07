"""amoCRM API v4 (https://www.amocrm.ru/developers/content/crm_platform/api-reference): the leads
with their contacts, the pipelines and statuses, the stage-change and call events, tasks, the
leads' notes and the users with their groups — the files the amoCRM importer reads.

- Address: the account's own, `https://SUBDOMAIN.amocrm.ru` (`--base-url`); the token: a long-lived
  token of an integration, `CRMKIT_AMOCRM_TOKEN` (sent as `Authorization: Bearer`).
- Paging: `page` and `limit` (250; events 100), to the end by `_links.next.href`; an empty list
  is answered `204 No Content`.
- Changes since the last pull: `filter[updated_at][from]` (leads, tasks, notes),
  `filter[created_at][from]` (events: they are never updated); pipelines and users whole.
- Pace: amoCRM allows 7 requests a second per account; a 429 waits and tries again.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from crmkit.pull.base import Api, Pulled, Resource, pull, token

CRM = "amoCRM"
SETTING = "CRMKIT_AMOCRM_TOKEN"
PER_SECOND = 7
EVENT_TYPES = "lead_status_changed,incoming_call,outgoing_call"
UPDATED_SINCE = "filter[updated_at][from]"
CREATED_SINCE = "filter[created_at][from]"  # events are never updated

RESOURCES = [
    Resource("pipelines", "/api/v4/leads/pipelines"),
    Resource("users", "/api/v4/users", {"with": "group", "limit": 250}),
    Resource("leads", "/api/v4/leads", {"with": "contacts,loss_reason", "limit": 250}, UPDATED_SINCE),
    Resource("events", "/api/v4/events", {"filter[type]": EVENT_TYPES, "limit": 100}, CREATED_SINCE),
    Resource("tasks", "/api/v4/tasks", {"limit": 250}, UPDATED_SINCE),
    Resource("notes", "/api/v4/leads/notes", {"limit": 250}, UPDATED_SINCE),
]


def _next_page(page: dict, url: str, params: dict | None) -> tuple[str, None] | None:
    href = ((page.get("_links") or {}).get("next") or {}).get("href")
    return (href, None) if href else None  # the next link carries the query


def _records(name: str, page: dict) -> int:
    embedded = page.get("_embedded") or {}
    return sum(len(v) for v in embedded.values() if isinstance(v, list))


def run(out: Path, base_url: str, *, progress=None, transport: httpx.BaseTransport | None = None) -> Pulled:
    api = Api(
        base_url.rstrip("/"),
        {"Authorization": f"Bearer {token(SETTING)}", "Accept": "application/json"},
        per_second=PER_SECOND,
        setting=SETTING,
        crm=CRM,
        transport=transport,
    )
    try:
        return pull(
            api,
            RESOURCES,
            out,
            next_page=_next_page,
            records_of=_records,
            empty=lambda response: response.status_code == 204,
            progress=progress or (lambda resource, pages, records: None),
        )
    finally:
        api.close()
