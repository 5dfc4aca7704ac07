"""amoCRM API v4 (https://www.amocrm.ru/developers/content/crm_platform/api-reference): the leads
with their contacts, the pipelines and statuses, the stage-change and call events, tasks, the
leads' notes and the users with their groups — the files the amoCRM importer reads.

- Address: the account's own, `https://SUBDOMAIN.amocrm.ru` (`--base-url`); the token: a long-lived
  token of an integration, `CRMKIT_AMOCRM_TOKEN` (sent as `Authorization: Bearer`). Or OAuth 2.0:
  with CRMKIT_AMOCRM_CLIENT_ID, _CLIENT_SECRET and _REDIRECT_URI set, an access token refused as
  expired is renewed once from the refresh token (CRMKIT_AMOCRM_REFRESH_TOKEN at first, then the
  one amoCRM returns, kept in `~/.config/crmkit/amocrm-oauth.json`, readable by its owner only:
  amoCRM's refresh tokens are good for one use).
- Paging: `page` and `limit` (250; events 100), to the end by `_links.next.href`; an empty list
  is answered `204 No Content`.
- Changes since the last pull: `filter[updated_at][from]` (leads, tasks, notes),
  `filter[created_at][from]` (events: they are never updated); pipelines and users whole.
- Pace: amoCRM allows 7 requests a second per account; a 429 waits and tries again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from crmkit.errors import CrmkitError
from crmkit.pull.base import FOLDER, Api, Limits, Pulled, Resource, cursor, pull, token

CRM = "amoCRM"
SETTING = "CRMKIT_AMOCRM_TOKEN"
PER_SECOND = 7
# stage changes, calls, and deletions (API v4 lists a deleted lead only by its lead_deleted event)
EVENT_TYPES = "lead_status_changed,incoming_call,outgoing_call,lead_deleted,lead_restored"
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


OAUTH = ("CRMKIT_AMOCRM_CLIENT_ID", "CRMKIT_AMOCRM_CLIENT_SECRET", "CRMKIT_AMOCRM_REDIRECT_URI")


def token_file() -> Path:
    default = Path.home() / ".config" / "crmkit" / "amocrm-oauth.json"
    return Path(os.environ.get("CRMKIT_AMOCRM_TOKEN_FILE") or default)


def _saved() -> dict:
    try:
        return json.loads(token_file().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _refresher(base_url: str, transport) -> Callable[[], dict]:
    """A new access token from the refresh token (POST /oauth2/access_token), both kept."""

    def refresh() -> dict:
        saved = _saved()
        refresh_token = saved.get("refresh_token") or os.environ.get("CRMKIT_AMOCRM_REFRESH_TOKEN", "")
        client_id, secret, redirect = (os.environ[name] for name in OAUTH)
        body = {"client_id": client_id, "client_secret": secret, "grant_type": "refresh_token",
                "refresh_token": refresh_token, "redirect_uri": redirect}  # fmt: skip
        try:
            with httpx.Client(base_url=base_url, timeout=60, transport=transport) as client:
                answer = client.post("/oauth2/access_token", json=body)
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            raise CrmkitError(f"amoCRM: cannot reach {base_url} to renew the token ({kind})") from None
        if answer.status_code != 200:
            raise CrmkitError(
                f"amoCRM refused the refresh token (HTTP {answer.status_code}): authorise the integration "
                "again and set CRMKIT_AMOCRM_REFRESH_TOKEN to the new refresh token"
            )
        try:
            tokens = answer.json()
            tokens = {key: str(tokens[key]) for key in ("access_token", "refresh_token")}
        except (ValueError, TypeError, KeyError):
            raise CrmkitError(
                "amoCRM answered the token renewal without an access and a refresh token: try again later"
            ) from None
        path = token_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".tmp")
        partial.touch(mode=0o600)
        partial.write_text(json.dumps(tokens), encoding="utf-8")
        os.replace(partial, path)
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return refresh


def run(out: Path, base_url: str, *, progress=None, since: int | None | str = FOLDER,
        transport: httpx.BaseTransport | None = None, limits: Limits | None = None) -> Pulled:  # fmt: skip
    oauth = all(os.environ.get(name) for name in OAUTH)
    refresh = _refresher(base_url.rstrip("/"), transport) if oauth else None
    access = (_saved().get("access_token") if oauth else None) or os.environ.get(SETTING, "").strip()
    if refresh is not None and not access:
        authorization = refresh()  # OAuth with a refresh token only: the first access token
    else:
        authorization = {"Authorization": f"Bearer {access or token(SETTING)}"}
    api = Api(
        base_url.rstrip("/"),
        {**authorization, "Accept": "application/json"},
        per_second=PER_SECOND,
        setting=SETTING,
        crm=CRM,
        transport=transport,
        limits=limits,
        credential=os.environ["CRMKIT_AMOCRM_CLIENT_ID"] if oauth else None,  # renewed tokens: one account
    )
    api.refresh = refresh
    return pull(
        api,
        RESOURCES,
        out,
        next_page=_next_page,
        records_of=_records,
        empty=lambda response: response.status_code == 204,
        progress=progress,
        since=cursor(out, since),
    )
