"""The embedded sample: a deterministic synthetic amoCRM account of a B2B company.

Vectorised with numpy (no Python loop per deal): a million deals take seconds. Written in the
canonical CSV layout (`crmkit load` reads it back). Effects planted on purpose, so that reports
have something true to find and tests can check that it is found (see `PLANTED` and the README):

- bottleneck: «Коммерческое предложение» is the longest stage (median ≈ 14 days, others 2–6);
- slow manager: Сергей Волков's stays last 1.9× the team's in every stage;
- low-converting source: «Авито» wins about a third as often as other sources;
- activity drop: Ольга Кузнецова logs 70% fewer activities from the week of 2026-10-19;
- CRM adoption on 2025-05-01: before it only won sales exist (from accounting: no creation
  date, no stage history, no source); after it, about 12% more sales per month than the same
  months before;
- seasonality: fewer deals in January and summer, more in autumn and December;
- stale deals: about 4% of deals are forgotten in their stage (stays ×12);
- stage skips (10% skip «Принимают решение») and regressions (8% go back from the proposal to
  negotiations and come forward again);
- data defects for the audit (`DEFECTS`): a deal closed before it was created, a repeated row, a
  negative and two missing amounts, a bulk edit of 25 deals in one minute, a call dated ahead.
"""

from __future__ import annotations

import math
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.importers.base import quote_literal
from crmkit.paths import SAMPLE_DIR

DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")

PLANTED = {
    "bottleneck_stage": "Коммерческое предложение",
    "slow_manager": "Сергей Волков",
    "slow_factor": 1.9,
    "weak_source": "Авито",
    "activity_drop_manager": "Ольга Кузнецова",
    "activity_drop_from": "2026-10-19",
    "activity_drop_keep": 0.3,
    "adoption_date": "2025-05-01",
    "adoption_lift": 0.12,
    "stale_share": 0.04,
}

@contextmanager
def planted(**effects):
    """The sample with other planted effects while the block runs — e.g. `planted(activity_drop_keep=1)`
    for an account where nothing changed, 0.6 for a 40% drop — for simulations of known truth."""
    unknown = set(effects) - set(PLANTED)
    if unknown:
        raise KeyError(f"no planted effect {sorted(unknown)[0]!r}; the sample plants {', '.join(PLANTED)}")
    kept = dict(PLANTED)
    PLANTED.update(effects)
    try:
        yield PLANTED
    finally:
        PLANTED.clear()
        PLANTED.update(kept)


MANAGERS = [  # name, team, share of deals, speed factor, win factor
    ("Анна Смирнова", "Отдел продаж 1", 0.14, 1.0, 1.15),
    ("Иван Петров", "Отдел продаж 1", 0.12, 0.9, 1.0),
    ("Сергей Волков", "Отдел продаж 1", 0.11, PLANTED["slow_factor"], 0.9),
    ("Ольга Кузнецова", "Отдел продаж 1", 0.12, 1.0, 1.05),
    ("Дмитрий Соколов", "Отдел продаж 2", 0.11, 1.1, 0.95),
    ("Елена Попова", "Отдел продаж 2", 0.12, 0.95, 1.1),
    ("Алексей Лебедев", "Отдел продаж 2", 0.10, 1.05, 0.85),
    ("Мария Новикова", "Отдел продаж 2", 0.10, 1.0, 1.0),
    ("Павел Морозов", "Отдел продаж 2", 0.05, 1.0, 1.0),  # joined late: low volume
    ("Наталья Фёдорова", "Отдел продаж 1", 0.03, 1.0, 1.0),  # left the company
]
ADMIN = ("Администратор", None)

SOURCES = [  # name, share of leads, win factor
    ("Сайт", 0.25, 1.0),
    ("Яндекс.Директ", 0.22, 0.9),
    ("Рекомендация", 0.12, 1.6),
    ("Холодный звонок", 0.14, 0.7),
    ("Выставка", 0.07, 1.2),
    ("Авито", 0.12, 0.35),
    ("Партнёры", 0.08, 1.3),
]
LOSS_REASONS = ["Дорого", "Выбрали конкурента", "Нет бюджета", "Не выходит на связь", "Неактуально"]
COMPANIES = [
    "Ромашка",
    "Вектор",
    "Альфа-Строй",
    "СеверЛес",
    "ТехноПарк",
    "Гранит",
    "Меридиан",
    "Орион",
    "Лидер",
    "Стройресурс",
    "Энергосервис",
    "Агроплюс",
    "Сибирь-Логистик",
    "Волга-Трейд",
    "Уралмаш-Сервис",
    "Прогресс",
    "Кристалл",
    "Форум",
    "Импульс",
    "Горизонт",
]
PRODUCTS = ["поставка оборудования", "сервисный контракт", "внедрение", "лицензии", "обучение"]
BRANCHES = 100  # clients: every company in up to 100 branches ("ООО «Ромашка-7»"), 2,000 in all
CLIENTS = [f"ООО «{company}-{branch + 1}»" for branch in range(BRANCHES) for company in COMPANIES]
MONTH_SEASON = np.array([0.70, 0.90, 1.10, 1.05, 0.90, 1.00, 0.85, 0.85, 1.10, 1.15, 1.15, 1.20])


@dataclass(frozen=True)
class PipelineSpec:
    pipeline_id: str
    name: str
    stages: tuple[tuple[str, str], ...]  # open stages: (stage_id, name)
    median_days: tuple[float, ...]  # median stay per open stage
    advance: tuple[float, ...]  # probability of moving on from each open stage
    share: float
    amount_median: float
    skip_stage: int | None = None  # index of a stage some deals skip
    regress: tuple[int, int] | None = None  # (from, back to): the deal returns and comes forward


WON, LOST = ("142", "Успешно реализовано"), ("143", "Закрыто и не реализовано")  # amoCRM ids
PIPELINES = (
    PipelineSpec(
        "7001001",
        "Основная воронка",
        (
            ("61001", "Первичный контакт"),
            ("61002", "Переговоры"),
            ("61003", "Принимают решение"),
            ("61004", "Коммерческое предложение"),
            ("61005", "Согласование договора"),
        ),
        (2.0, 5.0, 4.0, 14.0, 6.0),
        (0.88, 0.80, 0.90, 0.78, 0.92),
        0.85,
        180_000,
        skip_stage=2,
        regress=(3, 1),
    ),
    PipelineSpec(
        "7001002",
        "Повторные продажи",
        (("62001", "Новый запрос"), ("62002", "Подготовка КП"), ("62003", "Счёт выставлен")),
        (1.0, 3.0, 4.0),
        (0.92, 0.85, 0.90),
        0.15,
        60_000,
    ),
)
SKIP_SHARE, REGRESS_SHARE = 0.10, 0.08


def _client_rng(spec: PipelineSpec) -> np.random.Generator:
    return np.random.default_rng(int(spec.pipeline_id))


def _paths(spec: PipelineSpec, n: int, rng) -> np.ndarray:
    """Stage index per path slot (−1 = no stage): template with skip and regression slots."""
    k = len(spec.stages)
    template = list(range(k))
    regress_slots: list[int] = []
    if spec.regress:
        at, back = spec.regress
        regress_slots = list(range(at + 1, at + 1 + (at - back + 1)))
        template = template[: at + 1] + list(range(back, at + 1)) + template[at + 1 :]
    paths = np.tile(np.array(template), (n, 1))
    # How far each deal gets: the first stage it fails to move on from.
    advance = rng.random((n, k)) < np.array(spec.advance)
    reached = np.where(advance.all(axis=1), k, advance.argmin(axis=1))  # k = passed every stage
    stage_of_slot = paths
    paths = np.where(stage_of_slot <= np.minimum(reached, k - 1)[:, None], paths, -1)
    if spec.skip_stage is not None:
        skip = rng.random(n) < SKIP_SHARE
        paths[skip & (reached > spec.skip_stage), spec.skip_stage] = -1
    if regress_slots:
        regress = (rng.random(n) < REGRESS_SHARE) & (reached > spec.regress[0])
        paths[~regress[:, None] & np.isin(np.arange(paths.shape[1]), regress_slots)[None, :]] = -1
    return paths, reached


FIRST_IDS = {"sale": 10_000_001, "deal": 20_000_001, "activity": 50_000_001}


def generate(
    n_deals: int = 3000, *, seed: int = 42, end: str = "2026-10-31", months: int = 30, first_ids=None
) -> dict[str, pd.DataFrame]:
    """The sample CRM as canonical tables (DataFrames), `n_deals` deals in `months` months.
    `first_ids`: where the ids of accounting sales, CRM deals and activities begin (a part of a
    larger sample continues the previous part's)."""
    ids = {**FIRST_IDS, **(first_ids or {})}
    rng = np.random.default_rng(seed)
    end_ts = _end_ts(end)
    start_ts = np.datetime64(
        pd.Timestamp(end).to_period("M").to_timestamp() - pd.DateOffset(months=months - 1), "s"
    )
    adoption = np.datetime64(PLANTED["adoption_date"], "s")

    users = pd.DataFrame(
        {
            "user_id": [str(1000 + i) for i in range(len(MANAGERS) + 1)],
            "name": [m[0] for m in MANAGERS] + [ADMIN[0]],
            "team": [m[1] for m in MANAGERS] + [ADMIN[1]],
            "is_active": [m[0] != "Наталья Фёдорова" for m in MANAGERS] + [True],
        }
    )
    pipelines = pd.DataFrame(
        {"pipeline_id": [p.pipeline_id for p in PIPELINES], "name": [p.name for p in PIPELINES]}
    )
    stages = pd.DataFrame(
        [
            (p.pipeline_id, sid, name, i + 1, "open")
            for p in PIPELINES
            for i, (sid, name) in enumerate(p.stages)
        ]
        + [
            (p.pipeline_id, sid, name, len(p.stages) + j + 1, kind)
            for p in PIPELINES
            for j, ((sid, name), kind) in enumerate(((WON, "won"), (LOST, "lost")))
        ],
        columns=["pipeline_id", "stage_id", "name", "position", "kind"],
    )

    # Post-adoption CRM deals: 85% of the total, then as many pre-adoption accounting sales as
    # make the post-adoption months sell `adoption_lift` more (≈ the remaining 15%).
    n_crm = int(round(n_deals * 0.85))
    created = _dates(rng, n_crm, adoption, end_ts)
    owner_idx = _owners(rng, created)
    source_idx = rng.choice(len(SOURCES), n_crm, p=_norm([s[1] for s in SOURCES]))
    pipe_idx = rng.choice(len(PIPELINES), n_crm, p=_norm([p.share for p in PIPELINES]))
    deal_ids = np.arange(ids["deal"], ids["deal"] + n_crm)

    frames_deals, frames_changes = [], []
    for p_i, spec in enumerate(PIPELINES):
        sel = np.flatnonzero(pipe_idx == p_i)
        d, c = _simulate(spec, rng, sel, created[sel], owner_idx[sel], source_idx[sel], deal_ids[sel], end_ts)
        frames_deals.append(d)
        frames_changes.append(c)
    deals = pd.concat(frames_deals, ignore_index=True).sort_values("deal_id", ignore_index=True)
    changes = pd.concat(frames_changes, ignore_index=True)

    pre = _accounting_sales(rng, start_ts, adoption, end_ts, deals, ids["sale"])
    activities = _activities(rng, deals, changes, users, end_ts, ids["activity"])
    plans = _plans(won_per_month(deals), adoption, end_ts)
    deals = pd.concat([pre, deals], ignore_index=True)
    deals, changes, activities = _plant_defects(deals, changes, activities, end_ts)
    return {
        "pipelines": pipelines,
        "stages": stages,
        "users": users,
        "deals": deals,
        "stage_changes": changes,
        "activities": activities,
        "plans": plans,
    }


def _end_ts(end: str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(end) + pd.Timedelta(days=1), "s")  # exclusive


def _norm(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


def _dates(rng, n: int, start, end) -> np.ndarray:
    """`n` working-hours timestamps in [start, end), weekdays mostly, seasonal by month."""
    days = np.arange(start.astype("datetime64[D]"), end.astype("datetime64[D]"))
    month = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7  # 0 = Monday
    weight = MONTH_SEASON[month] * np.where(weekday < 5, 1.0, 0.15)
    day = rng.choice(days, n, p=_norm(weight))
    seconds = rng.integers(6 * 3600, 16 * 3600, n)  # 09:00–19:00 Moscow = 06:00–16:00 UTC
    return np.sort(day.astype("datetime64[s]") + seconds * SECOND)


def _owners(rng, created) -> np.ndarray:
    """Managers by share of work, each only while employed: the late joiner from 2026-01, the
    leaver until 2026-03."""
    shares = np.array([m[2] for m in MANAGERS])
    owner = rng.choice(len(MANAGERS), len(created), p=_norm(shares))
    names = [m[0] for m in MANAGERS]
    late, left = names.index("Павел Морозов"), names.index("Наталья Фёдорова")
    too_early = (owner == late) & (created < np.datetime64("2026-01-01"))
    too_late = (owner == left) & (created >= np.datetime64("2026-03-01"))
    redo = too_early | too_late
    others = [i for i in range(len(MANAGERS)) if i not in (late, left)]
    owner[redo] = rng.choice(others, redo.sum(), p=_norm(shares[others]))
    return owner


def _simulate(spec: PipelineSpec, rng, sel, created, owner_idx, source_idx, deal_ids, end_ts):
    n = len(sel)
    k = len(spec.stages)
    paths, reached = _paths(spec, n, rng)
    # The last step: won after the last open stage (source and manager shift the odds), else lost.
    win_factor = np.array([s[2] for s in SOURCES])[source_idx] * np.array([m[4] for m in MANAGERS])[owner_idx]
    final_win = rng.random(n) < np.clip(0.70 * win_factor, 0.02, 0.97)
    # A deal that passed every stage but fails the final step is lost at the last stage.
    is_won = (reached == k) & final_win
    # Stays: lognormal around the stage median, × the manager's speed; some deals forgotten.
    speed = np.array([m[3] for m in MANAGERS])[owner_idx]
    stale = rng.random(n) < PLANTED["stale_share"]
    stage_of = np.where(paths >= 0, paths, 0)
    median = np.array(spec.median_days)[stage_of] * speed[:, None]
    stay = median * rng.lognormal(0.0, 0.6, paths.shape)
    stay = np.where(paths >= 0, stay, 0.0)
    order = np.argsort(paths < 0, axis=1, kind="stable")  # valid slots first, in path order
    paths = np.take_along_axis(paths, order, axis=1)
    stay = np.take_along_axis(stay, order, axis=1)
    n_valid = (paths >= 0).sum(axis=1)
    last_slot = n_valid - 1
    stay[np.arange(n), last_slot] *= np.where(stale, 12.0, 1.0)
    # Entered-at per slot; the terminal stage is entered when the last stay ends.
    offsets = np.cumsum(stay, axis=1) - stay
    entered = created[:, None] + (offsets * 86400).astype("int64") * SECOND
    close_at = created + (stay.sum(axis=1) * 86400).astype("int64") * SECOND
    # Close outside working hours is unrealistic but harmless; keep times as they fall.
    valid = (paths >= 0) & (entered < end_ts)
    rows, slots = np.nonzero(valid)
    stage_ids = np.array([int(s[0]) for s in spec.stages])
    won_id, lost_id = int(WON[0]), int(LOST[0])
    closed = close_at < end_ts
    changes = pd.DataFrame(
        {
            "deal_id": np.concatenate([deal_ids[rows], deal_ids[closed]]),
            "pipeline_id": int(spec.pipeline_id),
            "stage_id": np.concatenate(
                [stage_ids[paths[rows, slots]], np.where(is_won[closed], won_id, lost_id)]
            ),
            "entered_at": np.concatenate([entered[rows, slots], close_at[closed]]),
            "changed_by": 1000 + np.concatenate([owner_idx[rows], owner_idx[closed]]),
        }
    )
    # Current stage: the last entered slot, or the terminal stage when closed.
    entered_valid = np.where(valid, 1, 0)
    current_slot = entered_valid.cumsum(axis=1).argmax(axis=1)
    current = np.where(
        closed, np.where(is_won, won_id, lost_id), stage_ids[paths[np.arange(n), current_slot]]
    )
    amount = np.round(spec.amount_median * rng.lognormal(0, 0.7, n), -2)
    amount[rng.random(n) < 0.01] = 0  # a few deals with a zero budget
    title_code = rng.integers(0, len(COMPANIES) * len(PRODUCTS), n)
    # the client: a company and one of its branches, from a stream of its own (the rest stays put)
    client = title_code // len(PRODUCTS) + len(COMPANIES) * _client_rng(spec).integers(0, BRANCHES, n)
    titles = [f"{name} — {product}" for name in CLIENTS for product in PRODUCTS]
    deals = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "pipeline_id": int(spec.pipeline_id),
            "stage_id": current,
            "title": _categorical(client * len(PRODUCTS) + title_code % len(PRODUCTS), titles),
            "client": _categorical(client, CLIENTS),
            "amount": amount,
            "currency": "RUB",
            "owner_id": 1000 + owner_idx,
            "source": _categorical(source_idx, [s[0] for s in SOURCES]),
            "created_at": created,
            "closed_at": np.where(closed, close_at, np.datetime64("NaT")),
            "loss_reason": _categorical(
                np.where(closed & ~is_won, rng.integers(0, len(LOSS_REASONS), n), -1), LOSS_REASONS
            ),
        }
    )
    return deals, changes


def _accounting_sales(rng, start, adoption, end, crm_deals: pd.DataFrame, first_id: int) -> pd.DataFrame:
    """Pre-adoption won sales as accounting knows them: a date, an amount, a manager. As many
    per month as the CRM months win, less the planted lift; amounts drawn from CRM wins."""
    won = crm_deals[crm_deals["stage_id"] == int(WON[0])]
    crm_months = (end - adoption) / np.timedelta64(30 * 86400, "s")
    pre_months = (adoption - start) / np.timedelta64(30 * 86400, "s")
    n = int(round(len(won) / crm_months * pre_months / (1 + PLANTED["adoption_lift"])))
    closed = _dates(rng, n, start, adoption)
    names = [m[0] for m in MANAGERS]
    eligible = [i for i, name in enumerate(names) if name != "Павел Морозов"]
    owner = rng.choice(eligible, n, p=_norm([MANAGERS[i][2] for i in eligible]))
    main = PIPELINES[0]
    return pd.DataFrame(
        {
            "deal_id": np.arange(first_id, first_id + n),
            "pipeline_id": int(main.pipeline_id),
            "stage_id": int(WON[0]),
            "title": _categorical(np.zeros(n, dtype=int), ["Продажа по данным бухгалтерии"]),
            "client": _categorical(_client_rng(main).integers(0, len(CLIENTS), n), CLIENTS),
            "amount": rng.choice(won["amount"].to_numpy(), n),
            "currency": "RUB",
            "owner_id": 1000 + owner,
            "source": _categorical(np.full(n, -1), [s[0] for s in SOURCES]),
            "created_at": np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
            "closed_at": closed,
            "loss_reason": _categorical(np.full(n, -1), LOSS_REASONS),
        }
    )


ACTIVITY_KINDS = np.array(["call", "email", "meeting", "task", "proposal", "payment"])
CALL, EMAIL, MEETING, TASK, PROPOSAL, PAYMENT = range(6)
DIRECTIONS = np.array(["in", "out"])  # code -1 = none
STATUSES = np.array(["done", "missed", "planned"])


def _categorical(codes, labels) -> pd.Categorical:
    """Text columns as codes + labels: a million rows without a million Python strings."""
    return pd.Categorical.from_codes(codes, categories=labels)


def _activities(rng, deals, changes, users, end_ts, first_id: int) -> pd.DataFrame:
    """Calls, emails, meetings, proposals, payments and tasks around each deal's life."""
    n = len(deals)
    deal_id = deals["deal_id"].to_numpy()
    created = deals["created_at"].to_numpy("datetime64[s]")
    closed = deals["closed_at"].to_numpy("datetime64[s]")
    life_end = np.where(np.isnat(closed), end_ts, closed)
    life_s = np.maximum((life_end - created) / SECOND, 3600).astype("int64")
    idx_parts, kind_parts, dir_parts, at_parts = [], [], [], []

    def add(idx, kind, direction, started_at):
        idx_parts.append(idx)
        kind_parts.append(np.full(len(idx), kind, dtype="int8"))
        dir_parts.append(np.full(len(idx), direction, dtype="int8"))
        at_parts.append(started_at)

    def spread(counts, kind, direction, *, first_response=False):
        idx = np.repeat(np.arange(n), counts)
        offset = (rng.random(len(idx)) * life_s[idx]).astype("int64")
        if first_response:  # the first outbound touch: minutes to a day after the lead arrives
            offset = np.minimum(rng.lognormal(np.log(40 * 60), 1.3, len(idx)).astype("int64"), life_s[idx])
            add(idx, kind, direction, created[idx] + offset * SECOND)
            return
        # the rest on working hours (09:00–19:00 Moscow) of a day in the deal's life
        day = (created[idx] + offset * SECOND).astype("datetime64[D]").astype("datetime64[s]")
        at = day + rng.integers(6 * 3600, 16 * 3600, len(idx)) * SECOND
        end = created[idx] + life_s[idx] * SECOND
        add(idx, kind, direction, np.clip(at, created[idx], end))

    answered = rng.random(n) < 0.93  # some leads are never answered
    spread(answered.astype(int), CALL, 1, first_response=True)
    spread(rng.poisson(2.5, n), CALL, 1)
    spread(rng.poisson(1.2, n), CALL, 0)
    spread(rng.poisson(2.0, n), EMAIL, 1)
    changes_per_deal = np.bincount(np.searchsorted(deal_id, changes["deal_id"].to_numpy()), minlength=n)
    spread(np.where(changes_per_deal >= 2, rng.integers(1, 3, n), 0), MEETING, -1)
    spread(rng.integers(1, 4, n), TASK, -1)
    kp = changes[changes["stage_id"].isin([61004, 62002])].drop_duplicates("deal_id")
    add(
        np.searchsorted(deal_id, kp["deal_id"].to_numpy()),
        PROPOSAL,
        1,
        kp["entered_at"].to_numpy("datetime64[s]") + 3600 * SECOND,
    )
    won_idx = np.flatnonzero(deals["stage_id"].to_numpy() == int(WON[0]))
    add(won_idx, PAYMENT, 0, closed[won_idx] + rng.integers(1, 10, len(won_idx)) * DAY)

    idx, kind = np.concatenate(idx_parts), np.concatenate(kind_parts)
    direction, started = np.concatenate(dir_parts), np.concatenate(at_parts)
    seen = started < end_ts
    idx, kind, direction, started = idx[seen], kind[seen], direction[seen], started[seen]
    m = len(idx)
    is_call = kind == CALL
    missed = is_call & (direction == 0) & (rng.random(m) < 0.15)
    due = np.full(m, np.datetime64("NaT"), dtype="datetime64[s]")
    is_task = kind == TASK
    due[is_task] = started[is_task] + rng.integers(1, 4, is_task.sum()) * DAY
    status = np.where(missed, 1, np.where(is_task & (due >= end_ts), 2, 0))
    duration = np.where(is_call & ~missed, rng.lognormal(np.log(180), 0.8, m).astype(int), 0)
    duration = np.where(kind == MEETING, rng.integers(30, 120, m) * 60, duration)
    amount = np.where(np.isin(kind, [PROPOSAL, PAYMENT]), deals["amount"].to_numpy()[idx], np.nan)
    owner = deals["owner_id"].to_numpy()[idx]

    # Calls from unknown numbers: no deal attached, answered by whoever was employed then.
    k = max(1, m // 50)
    stray_at = _dates(rng, k, created[~np.isnat(created)].min(), end_ts)
    stray_owner = 1000 + _owners(rng, stray_at)
    stray_missed = rng.random(k) < 0.3
    frame = pd.DataFrame(
        {
            "activity_id": np.arange(first_id, first_id + m + k),
            "deal_id": pd.array(np.concatenate([deal_id[idx], np.zeros(k, dtype="int64")]), dtype="Int64"),
            "owner_id": np.concatenate([owner, stray_owner]),
            "kind": _categorical(np.concatenate([kind, np.zeros(k, dtype="int8")]), ACTIVITY_KINDS),
            "direction": _categorical(np.concatenate([direction, np.zeros(k, dtype="int8")]), DIRECTIONS),
            "status": _categorical(np.concatenate([status, stray_missed.astype(int)]), STATUSES),
            "started_at": np.concatenate([started, stray_at]),
            "due_at": np.concatenate([due, np.full(k, np.datetime64("NaT"), dtype="datetime64[s]")]),
            "duration_s": pd.array(
                np.concatenate([duration, np.where(stray_missed, 0, rng.integers(20, 300, k))]), dtype="Int64"
            ),
            "amount": np.concatenate([amount, np.full(k, np.nan)]),
        }
    )
    frame.loc[m:, "deal_id"] = pd.NA
    not_timed = ~np.isin(frame["kind"].cat.codes.to_numpy(), [CALL, MEETING])
    frame.loc[not_timed, "duration_s"] = pd.NA
    # The planted drop: one manager logs far fewer activities from a given week on.
    drop_user = int(users.loc[users["name"] == PLANTED["activity_drop_manager"], "user_id"].iloc[0])
    in_drop = (frame["owner_id"].to_numpy() == drop_user) & (
        frame["started_at"].to_numpy() >= np.datetime64(PLANTED["activity_drop_from"])
    )
    keep = ~in_drop | (rng.random(len(frame)) < PLANTED["activity_drop_keep"])
    return frame[keep].sort_values("started_at", kind="stable", ignore_index=True)


DEFECTS = {  # what the data audit (notebook 00) must find in the sample, by check
    "closed_before_created": 1,
    "duplicated_ids": 1,
    "negative_amounts": 1,
    "missing_amounts": 2,
    "bulk_moves": 25,
    "future_timestamps": 1,
}
BULK_AT = np.datetime64("2026-03-16T10:00:00")
ADMIN_ID = 1000 + len(MANAGERS)


def _plant_defects(deals, changes, activities, end_ts):
    """The mistakes real exports carry, planted where the audit must find them: a deal closed
    before it was created, a repeated row (the loader rejects the copy), a negative and two missing
    amounts, 25 deals closed by the administrator within one minute (a bulk edit), and a call
    dated a year ahead."""
    deals = deals.copy()
    crm = deals["created_at"].notna().to_numpy()
    won = crm & (deals["stage_id"].to_numpy() == int(WON[0]))
    first_won = np.flatnonzero(won)[0]
    # its creation date overwritten two days after the win (as a migrated record's often is): its
    # history still records the win, so the close is known and comes before the creation
    deals.loc[first_won, "created_at"] = deals.loc[first_won, "closed_at"] + np.timedelta64(2, "D")
    deals["amount"] = deals["amount"].astype(float)
    plain = np.flatnonzero(crm & ~won)
    deals.loc[plain[0], "amount"] = -15000.0
    deals.loc[plain[1:3], "amount"] = np.nan
    # the bulk edit: lost deals whose loss came after 16 March 2026 and whose previous stage was
    # entered before it are closed by the administrator at 10:00, a second apart
    lost_rows = changes[(changes["stage_id"] == int(LOST[0])) & (changes["entered_at"] > BULK_AT)]
    previous = changes[changes["stage_id"] != int(LOST[0])].groupby("deal_id")["entered_at"].max()
    lost_rows = lost_rows[lost_rows["deal_id"].map(previous) < BULK_AT].head(DEFECTS["bulk_moves"])
    moved_at = BULK_AT + np.arange(len(lost_rows)).astype("timedelta64[s]")
    changes = changes.copy()
    changes.loc[lost_rows.index, "entered_at"] = moved_at
    changes.loc[lost_rows.index, "changed_by"] = ADMIN_ID
    position = pd.Index(deals["deal_id"]).get_indexer(lost_rows["deal_id"])
    deals.loc[position, "closed_at"] = moved_at
    # a done call typed a year ahead
    activities = activities.copy()
    activities.loc[activities.index[-1], "started_at"] = end_ts + np.timedelta64(365, "D")
    # a row exported twice
    deals = pd.concat([deals, deals.iloc[[-1]]], ignore_index=True)
    return deals, changes, activities


def won_per_month(deals) -> pd.DataFrame:
    """Revenue and won deals per manager and month (what the plans are set from)."""
    won = deals[deals["stage_id"] == int(WON[0])].assign(month=lambda d: d["closed_at"].dt.to_period("M"))
    return won.groupby(["owner_id", "month"]).agg(revenue=("amount", "sum"), won_deals=("deal_id", "size"))


def _plans(per_month: pd.DataFrame, adoption, end_ts) -> pd.DataFrame:
    """Monthly revenue and won-deal targets per manager (and the team), 10% above the
    manager's average month, from the adoption month on."""
    typical = per_month.groupby("owner_id").mean() * 1.1
    months = pd.period_range(pd.Timestamp(adoption), pd.Timestamp(end_ts) - pd.Timedelta(seconds=1), freq="M")
    rows = []
    for month in months:
        for owner, row in typical.iterrows():
            for metric in ("revenue", "won_deals"):
                rows.append(
                    (
                        owner,
                        month.start_time.date(),
                        month.end_time.date(),
                        metric,
                        round(float(row[metric]), 0),
                    )
                )
        for metric in ("revenue", "won_deals"):
            rows.append(
                (
                    None,
                    month.start_time.date(),
                    month.end_time.date(),
                    metric,
                    round(float(typical[metric].sum()), 0),
                )
            )
    plans = pd.DataFrame(rows, columns=["owner_id", "period_start", "period_end", "metric", "target"])
    plans["owner_id"] = plans["owner_id"].astype("Int64")  # null = the team
    return plans


ADOPTION_YAML = """\
# The sample's CRM adoption, as a consultant would describe it (see crmkit/adoption.py).
adoption_date: {adoption_date}
ramp_months: 1            # May 2025: the CRM starts empty, deals in progress were never entered
currency: RUB
gross_margin: 0.35
costs:
  licence_per_seat_month: 1500
  seats: 11
  implementation: 450000
  consultants: 200000
  equipment: 60000
  training_hours: 120
  hourly_rate: 1500
promotion_months: [2025-11, 2026-03]
goals:
  - {{name: "+10% revenue per manager", metric: revenue_per_manager, target: 0.10, weight: 2}}
  - {{name: "+10% won deals", metric: n_won, target: 0.10, weight: 1}}
  - {{name: "-10% sales and marketing cost", actual: -0.04, target: -0.10, weight: 1}}
"""


def write_adoption(out_dir: str | Path) -> Path:
    """The adoption description of the sample (notebook 04 reads it)."""
    path = Path(out_dir) / "adoption.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ADOPTION_YAML.format(adoption_date=PLANTED["adoption_date"]), encoding="utf-8")
    return path


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path, *, append: bool = False) -> dict[str, int]:
    """Write the canonical CSV layout (DuckDB's parallel CSV writer: fast at a million deals);
    `append`: add the rows to the files a previous part wrote (no second header)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    counts = {}
    for name, frame in tables.items():
        target = out_dir / (name + ".csv")
        written = target.with_name(f".{name}.part.csv") if append else target
        con.register("frame", frame)
        con.execute(
            f"copy (select * from frame) to {quote_literal(str(written))} "  # a folder may be named «it's»
            f"(header {not append}, timestampformat '%Y-%m-%d %H:%M:%S')"
        )
        con.unregister("frame")
        if append:
            with open(written, "rb") as part, open(target, "ab") as whole:
                shutil.copyfileobj(part, whole, 16 << 20)
            written.unlink()
        counts[name] = len(frame)
    con.close()
    write_adoption(out_dir)
    return counts


MARK = ".crmkit-sample"  # in a folder the sample wrote: it may write there again


def claim(out_dir: str | Path) -> None:
    """Make `out_dir` the sample's, refusing a folder that holds files it did not write: a
    user's own deals.csv is never written over. `data/sample` is the sample's own folder (its
    database and adoption file live there), whatever else wrote into it."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CrmkitError(f"--out {out}: a file, not a folder; give a new or empty folder for the sample")
    own = (out / MARK).exists() or out.resolve() == SAMPLE_DIR.resolve()  # data/sample is the sample's
    others = sorted(p.name for p in out.iterdir()) if out.is_dir() and not own else []
    if others:
        raise CrmkitError(
            f"--out {out}: the folder holds files the sample did not write ({', '.join(others[:3])}"
            f"{', …' if len(others) > 3 else ''}); give a new or empty folder: the sample writes over no file"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("Written by `crmkit sample`, which may write here again.\n", encoding="utf-8")


PART_DEALS = 500_000  # deals generated and written at a time: a part takes about 2 GB at any size


def write_sample(
    n_deals: int, out_dir: str | Path, *, seed: int = 42, end: str = "2026-10-31"
) -> dict[str, int]:
    """Generate and write the sample, in parts of PART_DEALS deals so that memory does not grow
    with the sample (ten million deals as one part would need some 35 GB). Up to PART_DEALS it is
    `write(generate(...))` exactly; beyond, part k is drawn with seed + k and continues the ids,
    and the plans are set from every part's wins."""
    claim(out_dir)
    parts = max(1, math.ceil(n_deals / PART_DEALS))
    if parts == 1:
        return write(generate(n_deals, seed=seed, end=end), out_dir)
    counts: dict[str, int] = {}
    ids, wins = dict(FIRST_IDS), None
    for k in range(parts):
        tables = generate(n_deals // parts + (k < n_deals % parts), seed=seed + k, end=end, first_ids=ids)
        deal_ids = tables["deals"]["deal_id"]
        ids = {
            "sale": int(deal_ids[deal_ids < FIRST_IDS["deal"]].max()) + 1,
            "deal": int(deal_ids.max()) + 1,
            "activity": int(tables["activities"]["activity_id"].max()) + 1,
        }
        part_wins = won_per_month(tables["deals"])
        wins = part_wins if wins is None else wins.add(part_wins, fill_value=0)
        del tables["plans"]
        if k:  # pipelines, stages and users are the same in every part
            tables = {name: tables[name] for name in ("deals", "stage_changes", "activities")}
        for name, n in write(tables, out_dir, append=k > 0).items():
            counts[name] = counts.get(name, 0) + n
        del tables
    adoption = np.datetime64(PLANTED["adoption_date"], "s")
    counts |= write({"plans": _plans(wins, adoption, _end_ts(end))}, out_dir)
    return counts
