"""Pulling a CRM's records from its API into the raw files the importers read: every response
page saved as it came, in a folder named by the moment the pull began (raw data is immutable),
asked only for what changed since the last pull, at the pace the API allows.

- Paging to the end, each CRM its own way (`next_page`: the next request after a page, or None).
- HTTP 429 waits as long as `Retry-After` says (else backs off), and so does a transient 5xx or
  a dropped connection, up to `ATTEMPTS` tries (tenacity); a refused token is one line naming the
  setting, never a stack trace; requests are spaced to the CRM's published rate.
- A pull writes into `<out>/.partial/` and keeps its place there (`state.json`: the next page of
  each resource); it is renamed to `<out>/<moment>/` only when every resource is complete. A pull
  that was interrupted resumes where it stopped; nothing half-pulled is ever given to `load`.
- The cursor is the moment the last complete pull began (a minute earlier, for clocks that
  disagree): the next pull asks for records updated since then. It is kept in the database's
  `loads` when the pull is loaded (what the database holds decides what it lacks), and in
  `<out>/cursor.json` for a pull kept as files only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from crmkit.errors import CrmkitError

ATTEMPTS = 6
OVERLAP_SECONDS = 60  # a record updated a little before the cursor (clock skew) is asked for again
TIMEOUT = httpx.Timeout(60.0, connect=15.0)


@dataclass(frozen=True)
class Resource:
    """One list the API gives: where (`path`, `params`), the file prefix, and the query parameter
    that asks only for records changed since a moment (None: always pulled whole; small lists)."""

    name: str
    path: str
    params: dict = field(default_factory=dict)
    since: str | None = None
    body: dict | None = None  # a POST (a search): the JSON body, the paging's parameters merged in
    optional: bool = False  # an object not every account has (a 400/404 for it means: none here)


@dataclass
class Pulled:
    folder: Path  # the dated folder of raw files, for `crmkit load`
    pages: dict[str, int]  # pages written per resource
    records: dict[str, int]
    since: int | None  # the cursor this pull asked from (None: everything)
    waits: float = 0.0  # seconds spent waiting for the API (rate limits, retries)
    next_since: int | None = None  # the cursor for the next pull


class Unavailable(CrmkitError):
    """The API has no such list for this account (HTTP 400 or 404)."""


class _Again(Exception):
    """A response worth trying again (429, 5xx): how long the server asked us to wait."""

    def __init__(self, status: int, wait: float | None):
        super().__init__(f"HTTP {status}")
        self.status, self.wait = status, wait


class Api:
    """An HTTP session to one CRM account: authentication, pacing, retries."""

    def __init__(self, base_url: str, headers: dict, *, per_second: float, setting: str, crm: str,
                 shown_url: str = "", transport: httpx.BaseTransport | None = None):  # fmt: skip
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT, transport=transport)
        self.shown_url = shown_url or base_url  # the address as said in messages: never with a secret in it
        self.interval = 1.0 / per_second
        self.setting, self.crm = setting, crm
        self.last = 0.0
        self.waited = 0.0
        self.on_wait: Callable[[float], None] = lambda seconds: None
        # OAuth: new headers from a refresh token, asked for once when the access token is refused
        self.refresh: Callable[[], dict] | None = None

    def close(self) -> None:
        self.client.close()

    def _pace(self) -> None:
        ahead = self.last + self.interval - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        self.last = time.monotonic()

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = min(0.5 * 2 ** (state.attempt_number - 1), 30.0)
        seconds = error.wait if isinstance(error, _Again) and error.wait is not None else backoff
        self.waited += seconds
        self.on_wait(seconds)
        return seconds

    def get(self, url: str, params: dict | None = None, body: dict | None = None) -> httpx.Response:
        retrying = Retrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=self._wait,
            retry=retry_if_exception_type((_Again, httpx.TransportError)),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(url, params, body)
        except _Again as exc:
            raise CrmkitError(
                f"{self.crm}: {url} still answers {exc} after {ATTEMPTS} tries; try again later"
            ) from exc
        except httpx.TransportError as exc:
            kind = type(exc).__name__  # not the exception's text: it may quote a URL holding the secret
            message = f"{self.crm}: cannot reach {self.shown_url} ({kind}); check --base-url"
            raise CrmkitError(message) from None
        raise AssertionError("unreachable")  # Retrying either returns or raises

    def _get_once(self, url: str, params: dict | None, body: dict | None = None) -> httpx.Response:
        self._pace()

        def ask() -> httpx.Response:
            if body is not None:
                return self.client.post(url, json={**body, **(params or {})})
            return self.client.get(url, params=params)

        response = ask()
        if response.status_code == 401 and self.refresh is not None:
            self.client.headers.update(self.refresh())
            self.refresh = None  # once: a fresh token refused as well is a real refusal
            response = ask()
        if response.status_code in (401, 403):
            raise CrmkitError(
                f"{self.crm} refused the token (HTTP {response.status_code}): set {self.setting} to a "
                "valid, unexpired token of the account"
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise _Again(response.status_code, _retry_after(response))
        if response.status_code >= 400:
            answer = response.text[:200]
            error = Unavailable if response.status_code in (400, 404) else CrmkitError
            raise error(f"{self.crm}: {url.split('?')[0]} answered HTTP {response.status_code}: {answer}")
        return response


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def token(setting: str) -> str:
    """A secret from the environment (never the command line, never written anywhere)."""
    value = os.environ.get(setting, "").strip()
    if not value:
        raise CrmkitError(
            f"no token: set the environment variable {setting} (a token is never read from the command line)"
        )
    return value


def pull(
    api: Api,
    resources: list[Resource],
    out: Path,
    *,
    next_page: Callable[[dict, str, dict | None], tuple[str, dict | None] | None],
    records_of: Callable[[str, dict], int],
    empty: Callable[[httpx.Response], bool] = lambda response: False,
    since_value: Callable[[int], str] = str,
    progress: Callable[[str, int, int, float], None] | None = None,
    then: Callable[[Path], list[Resource]] | None = None,
    since: int | None = None,
) -> Pulled:
    """Every page of every resource into `out/<moment>/`; see the module's docstring. `then`, given
    the folder of pages so far, names the resources they call for (one per deal, say). The pull
    closes `api` when it ends, however it ends."""
    try:
        return _pull(api, resources, out, next_page, records_of, empty, since_value,
                     progress or (lambda resource, pages, records, waited: None), then, since)  # fmt: skip
    finally:
        api.close()


def _pull(api, resources, out, next_page, records_of, empty, since_value, progress, then, since) -> Pulled:
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".partial"
    state = _load_state(work)
    if state is None:
        state = {"began": int(time.time()), "since": since, "next": {}, "params": {},
                 "pages": {}, "records": {}, "done": []}  # fmt: skip
        work.mkdir(parents=True, exist_ok=True)
        _write_json(work / "state.json", state)
    since = state["since"]  # an interrupted pull resumes with the cursor it began with
    queue = list(resources)
    while queue or then is not None:
        if not queue:  # the fixed list done: the resources its pages call for
            queue, then = then(work), None
            continue
        resource = queue.pop(0)
        if resource.name in state["done"]:
            continue
        # a wait (a 429's Retry-After, a backoff) shows on the resource's line while it lasts
        api.on_wait = lambda seconds, name=resource.name: progress(
            name, state["pages"].get(name, 0), state["records"].get(name, 0), api.waited
        )
        try:
            for page in _pages(api, resource, state, since, next_page, empty, since_value):
                number = state["pages"].get(resource.name, 0) + 1
                _write_json(work / f"{resource.name}-{number:04d}.json", page)
                state["pages"][resource.name] = number
                counted = state["records"].get(resource.name, 0) + records_of(resource.name, page)
                state["records"][resource.name] = counted
                _write_json(work / "state.json", state)
                progress(resource.name, number, state["records"][resource.name], api.waited)
        except Unavailable:
            if not resource.optional:
                raise
        state["done"].append(resource.name)
        _write_json(work / "state.json", state)
    moment = datetime.fromtimestamp(state["began"], UTC).strftime("%Y-%m-%dT%H%M%SZ")
    folder, number = out / moment, 1
    while folder.exists():  # two pulls began in the same second: the second is moment-2
        number += 1
        folder = out / f"{moment}-{number}"
    (work / "state.json").unlink()
    work.rename(folder)
    following = state["began"] - OVERLAP_SECONDS
    _write_json(out / "cursor.json", {"since": following})
    return Pulled(folder, state["pages"], state["records"], state["since"], api.waited, following)


def _pages(api, resource, state, since, next_page, empty, since_value) -> Iterator[dict]:
    url = state["next"].get(resource.name) or resource.path
    params = state["params"].get(resource.name) if resource.name in state["next"] else dict(resource.params)
    if params is not None and since is not None and resource.since:
        params[resource.since] = since_value(since)
    while url:
        response = api.get(url, params, resource.body)
        if empty(response):
            return
        page = response.json()
        url, params = next_page(page, url, params) or (None, None)
        state["next"][resource.name] = url
        state["params"][resource.name] = params
        yield page


FOLDER = "folder"  # a pull's cursor is the raw folder's (a pull kept as files only)


def cursor(out: Path, since: int | None | str = FOLDER) -> int | None:
    """The moment a pull asks for changes from: the raw folder's last complete pull (FOLDER), or
    the one given — the database's, when the pull is loaded into one, None if it never was:
    then everything."""
    return (_read_json(out / "cursor.json") or {}).get("since") if since == FOLDER else since


def _load_state(work: Path) -> dict | None:
    """The state of an interrupted pull (resumed), or None to begin a new one."""
    return _read_json(work / "state.json") if work.is_dir() else None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _write_json(path: Path, value) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
