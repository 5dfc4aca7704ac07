"""Pulling a CRM's records from its API into the raw files the importers read: every response
page saved as it came, in a folder named by the moment the pull began (raw data is immutable),
asked only for what changed since the last pull, at the pace the API allows.

- Paging to the end, each CRM its own way (`next_page`: the next request after a page, or None).
- HTTP 429 waits as long as `Retry-After` says (else backs off), and so does a transient 5xx or
  a dropped connection, up to `ATTEMPTS` tries (tenacity); a refused token is one line naming the
  setting, never a stack trace; requests are spaced to the CRM's published rate.
- The secret goes only to the origin (scheme, host, port) of the account's address: a next link
  or a redirect elsewhere is refused, never followed. Every pull ends, whatever the server does
  (`Limits`): one request has a deadline, body included; a `Retry-After` past ten minutes fails
  with what the server asked; a page asked for twice ends the pull, and so does a resource past
  its page limit. An answer that is not a JSON object is one line naming the address and what
  came back.
- A pull writes into `<out>/.partial/` and keeps its place there (`state.json`: the next page of
  each resource); it is renamed to `<out>/<moment>/` only when every resource is complete. A pull
  that was interrupted resumes where it stopped if it is the same account (its address and a hash
  of its credential): another account's half-pull is begun anew, never resumed with this
  account's secret. Nothing half-pulled is ever given to `load`. A raw folder holds one account:
  a pull of another address into it is refused.
- The cursor is the moment the last complete pull began (a minute earlier, for clocks that
  disagree): the next pull asks for records updated since then. It is kept in the database's
  `loads` when the pull is loaded (what the database holds decides what it lacks), and in
  `<out>/cursor.json` for a pull kept as files only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from crmkit.errors import CrmkitError
from crmkit.paths import PULL_MOMENT

ATTEMPTS = 6
OVERLAP_SECONDS = 60  # a record updated a little before the cursor (clock skew) is asked for again
TIMEOUT = httpx.Timeout(60.0, connect=15.0)  # each read: `Limits.deadline` bounds the whole request
REDIRECTS = 5  # redirects followed, within the account's origin only
MAX_BODY = 512 * 1024 * 1024  # no API page is this large: a body past it is refused, not held


@dataclass(frozen=True)
class Limits:
    """What bounds a pull: the seconds one request may take with its body, the longest
    `Retry-After` waited for, and the pages of one resource (`crmkit pull --max-pages` raises it
    for a huge account)."""

    deadline: float = 300.0
    max_retry_after: float = 600.0
    max_pages: int = 20_000


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
    """An HTTP session to one CRM account: authentication, pacing, retries, and its bounds: the
    secret only to the account's origin, every request within `limits`."""

    def __init__(self, base_url: str, headers: dict, *, per_second: float, setting: str, crm: str,
                 shown_url: str = "", transport: httpx.BaseTransport | None = None,
                 limits: Limits | None = None, credential: str | None = None):  # fmt: skip
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT, transport=transport,
                                   follow_redirects=False)  # fmt: skip
        self.base_url = base_url
        self.origin = _origin(httpx.URL(base_url))
        self.shown_url = shown_url or base_url  # the address as said in messages: never with a secret in it
        self.limits = limits or Limits()
        # whose pull it is: the address and a hash of the credential (the headers' secrets, or the
        # OAuth client, whose access tokens change as they are renewed)
        secret = credential if credential is not None else "\0".join(
            f"{k}={v}" for k, v in sorted(headers.items()) if k.lower() != "accept"
        )
        self.account = hashlib.sha256(f"{base_url}\0{secret}".encode()).hexdigest()
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

    def shown(self, url) -> str:
        """An address for a message: without its query, the secret-bearing base said as `shown_url`."""
        target = httpx.URL(str(url))
        whole = target if target.is_absolute_url else self.client.base_url.join(str(url).lstrip("/"))
        text = str(whole.copy_with(query=None, fragment=None))
        return text.replace(self.base_url.rstrip("/"), self.shown_url.rstrip("/"))

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
                f"{self.crm}: {self.shown(url)} still answers {exc} after {ATTEMPTS} tries; try again later"
            ) from exc
        except httpx.TransportError as exc:
            kind = type(exc).__name__  # not the exception's text: it may quote a URL holding the secret
            message = f"{self.crm}: cannot reach {self.shown_url} ({kind}); check --base-url"
            raise CrmkitError(message) from None
        raise AssertionError("unreachable")  # Retrying either returns or raises

    def _get_once(self, url: str, params: dict | None, body: dict | None = None) -> httpx.Response:
        self._pace()
        response = self._send(url, params, body)
        if response.status_code == 401 and self.refresh is not None:
            self.client.headers.update(self.refresh())
            self.refresh = None  # once: a fresh token refused as well is a real refusal
            response = self._send(url, params, body)
        if response.status_code in (401, 403):
            raise CrmkitError(
                f"{self.crm} refused the token (HTTP {response.status_code}): set {self.setting} to a "
                "valid, unexpired token of the account"
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise _Again(response.status_code, self._retry_after(response, url))
        if response.status_code >= 400:
            error = Unavailable if response.status_code in (400, 404) else CrmkitError
            status = response.status_code
            raise error(f"{self.crm}: {self.shown(url)} answered HTTP {status}: {_said(response)}")
        if response.status_code >= 300:  # a redirect with nowhere to go, or another 3xx
            raise CrmkitError(
                f"{self.crm}: {self.shown(url)} answered HTTP {response.status_code}; check --base-url"
            )
        return response

    def _own(self, url, what: str) -> None:
        """Refuse an address outside the account's origin: the secret goes nowhere else."""
        target = httpx.URL(str(url))
        if target.is_absolute_url and _origin(target) != self.origin:
            elsewhere = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
            raise CrmkitError(
                f"{self.crm}: {what} points to {elsewhere}, not to the account's {self.shown_url}; refused: "
                "the token is sent only to the account's own address"
            )

    def _send(self, url, params: dict | None, body: dict | None) -> httpx.Response:
        """One request with its body read whole within the deadline, redirects followed only within
        the account's origin."""
        started = time.monotonic()
        self._own(url, "a next page")
        for _ in range(REDIRECTS + 1):
            if body is not None:
                request = self.client.build_request("POST", url, json={**body, **(params or {})})
            else:
                request = self.client.build_request("GET", url, params=params)
            response = self.client.send(request, stream=True)
            try:
                content = self._read(response, url, started)
            finally:
                response.close()
            answer = httpx.Response(response.status_code, headers=response.headers, content=content,
                                    request=request)  # fmt: skip
            if not answer.is_redirect:
                return answer
            following = request.url.join(answer.headers.get("Location", ""))
            self._own(following, f"{self.shown(url)} redirects: its Location")
            url, params = following, None
        raise CrmkitError(f"{self.crm}: {self.shown(url)} redirects over {REDIRECTS} times; check --base-url")

    def _read(self, response: httpx.Response, url, started: float) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if time.monotonic() - started > self.limits.deadline:
                raise CrmkitError(
                    f"{self.crm}: {self.shown(url)} took over {self.limits.deadline:.0f} s to answer "
                    f"({size:,} bytes so far); the pull stopped: try again later"
                )
            if size > MAX_BODY:
                raise CrmkitError(f"{self.crm}: {self.shown(url)} sent over {MAX_BODY:,} bytes; refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def _retry_after(self, response: httpx.Response, url) -> float | None:
        """The seconds the server asks to wait (None: it does not say); a wait a pull will not make
        is an error saying what the server asked."""
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:  # an HTTP date
                seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError, IndexError):
                seconds = math.nan
        if not math.isfinite(seconds) or seconds > self.limits.max_retry_after:
            raise CrmkitError(
                f"{self.crm}: {self.shown(url)} answered HTTP {response.status_code} and asks to wait "
                f"{_printable(value, 40)!r} (Retry-After), beyond the {self.limits.max_retry_after / 60:.0f} "
                "minutes a pull waits; try again later"
            )
        return max(seconds, 0.0)

    def page(self, response: httpx.Response, url) -> dict:
        """The answer as a JSON object, or one line naming the address and what came back."""
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        try:
            page = json.loads(response.content)
        except (ValueError, RecursionError):
            raise CrmkitError(
                f"{self.crm}: {self.shown(url)} answered HTTP {response.status_code} with {kind}, "
                f"{len(response.content):,} bytes that are not JSON ({_said(response)}); the service may be "
                "down or the address wrong: check --base-url and try again later"
            ) from None
        if not isinstance(page, dict):
            raise CrmkitError(
                f"{self.crm}: {self.shown(url)} answered a JSON {type(page).__name__}, not an object "
                f"({_said(response)}); check --base-url and try again later"
            )
        return page


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _printable(text: str, limit: int) -> str:
    """At most `limit` characters of a server's text, control characters blanked (no terminal
    escape reaches the user's screen)."""
    return "".join(c if c.isprintable() else " " for c in text[:limit])


def _said(response: httpx.Response) -> str:
    text = response.content[:200].decode("utf-8", errors="replace")
    return repr(_printable(" ".join(text.split()), 80)) if text.strip() else "an empty body"


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
    kept = (_read_json(out / "cursor.json") or {}).get("account_url")
    if kept is not None and kept != api.shown_url:
        raise CrmkitError(
            f"{out} holds the pulls of {kept}, not of {api.shown_url}: give each account its own --out folder"
        )
    work = out / ".partial"
    state = _load_state(work)
    if state is not None and state.get("account") != api.account:
        shutil.rmtree(work)  # another account's (or another token's) half-pull: begun anew
        state = None
    if state is None:
        state = {"began": int(time.time()), "since": since, "account": api.account, "next": {},
                 "params": {}, "pages": {}, "records": {}, "done": []}  # fmt: skip
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
    moment = datetime.fromtimestamp(state["began"], UTC).strftime(PULL_MOMENT)
    folder, number = out / moment, 1
    while folder.exists():  # two pulls began in the same second: the second is moment-2
        number += 1
        folder = out / f"{moment}-{number}"
    (work / "state.json").unlink()
    work.rename(folder)
    following = state["began"] - OVERLAP_SECONDS
    _write_json(out / "cursor.json", {"since": following, "account_url": api.shown_url})
    return Pulled(folder, state["pages"], state["records"], state["since"], api.waited, following)


def _pages(api, resource, state, since, next_page, empty, since_value) -> Iterator[dict]:
    url = state["next"].get(resource.name) or resource.path
    params = state["params"].get(resource.name) if resource.name in state["next"] else dict(resource.params)
    if params is not None and since is not None and resource.since:
        params[resource.since] = since_value(since)
    asked = set()
    while url:
        request = json.dumps([url, params], sort_keys=True, default=str)
        if request in asked:
            raise CrmkitError(
                f"{api.crm}: {resource.name}: the next page is one already pulled ({api.shown(url)}); "
                "the pull stopped rather than loop: try again later, or report it to the CRM"
            )
        asked.add(request)
        if state["pages"].get(resource.name, 0) >= api.limits.max_pages:
            raise CrmkitError(
                f"{api.crm}: {resource.name} has more than {api.limits.max_pages:,} pages; if the account "
                "is that large, raise --max-pages (the pull resumes where it stopped)"
            )
        response = api.get(url, params, resource.body)
        if empty(response):
            return
        page = api.page(response, url)
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
