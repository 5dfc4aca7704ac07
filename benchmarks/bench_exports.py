"""Named-format benchmark: the sample's deals written as a CRM would export them, then loaded.

- an amoCRM web export of a million deals: cp1251, `;`, `22.11.2026 14:05:00`, `1 234 567,89`;
  and its first 100,000 rows as XLSX (read with openpyxl);
- a Bitrix24 `crm.deal.list` saved as JSON pages, with its `crm.status.list` (JSON records go
  through Python, so this is the slower path; its size is a parameter).

Run with `make bench`; one line per step (seconds, rows). Figures go in docs/BENCHMARKS.md. Not a test.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from crmkit import sample
from crmkit.db import connect
from crmkit.importers import load


def step(label: str, started: float, detail: str = "") -> float:
    now = time.perf_counter()
    print(f"{label:<34} {now - started:7.1f} s  {detail}", flush=True)
    return now


def amocrm_export(tables: dict[str, pd.DataFrame], path: Path) -> None:
    stages = tables["stages"][["pipeline_id", "stage_id", "name"]].astype(
        {"pipeline_id": str, "stage_id": str}
    )
    deals = tables["deals"].astype({"pipeline_id": str, "stage_id": str})
    deals = deals.merge(
        stages.rename(columns={"name": "stage_name"}), on=["pipeline_id", "stage_id"], how="left"
    )
    pipelines = tables["pipelines"].set_index("pipeline_id")["name"]
    owners = tables["users"].set_index("user_id")["name"]
    money = deals["amount"].map(
        lambda a: f"{a:,.2f}".replace(",", " ").replace(".", ",") if pd.notna(a) else ""
    )
    frame = pd.DataFrame(
        {
            "ID": deals["deal_id"],
            "Название сделки": deals["title"],
            "Бюджет, руб.": money,
            "Ответственный": deals["owner_id"].map(owners),
            "Дата создания": deals["created_at"].dt.strftime("%d.%m.%Y %H:%M:%S"),
            "Дата закрытия": deals["closed_at"].dt.strftime("%d.%m.%Y %H:%M:%S"),
            "Этап сделки": deals["stage_name"],
            "Воронка": deals["pipeline_id"].map(pipelines.rename(index=str)),
            "Компания": deals["client"],
            "Источник": deals["source"],
        }
    )
    frame.to_csv(path, sep=";", index=False, encoding="cp1251", errors="replace")


def bitrix_export(tables: dict[str, pd.DataFrame], folder: Path, n_deals: int, page: int = 50) -> None:
    folder.mkdir()
    deals = tables["deals"].head(n_deals)
    category = {str(p): str(i) for i, p in enumerate(tables["pipelines"]["pipeline_id"])}
    semantics = {"won": "S", "lost": "F", "open": None}
    statuses = []
    for s in tables["stages"].itertuples():
        c = category[str(s.pipeline_id)]
        statuses.append({
            "ENTITY_ID": "DEAL_STAGE" if c == "0" else f"DEAL_STAGE_{c}", "STATUS_ID": f"C{c}:{s.stage_id}",
            "NAME": s.name, "SORT": str(s.position * 10), "SEMANTICS": semantics[s.kind],
        })  # fmt: skip
    (folder / "crm.status.list.json").write_text(json.dumps({"result": statuses}, ensure_ascii=False))

    def when(value) -> str | None:
        return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if pd.notna(value) else None

    records = []
    for d in deals.itertuples():
        c = category[str(d.pipeline_id)]
        records.append({
            "ID": str(d.deal_id), "TITLE": d.title, "CATEGORY_ID": c, "STAGE_ID": f"C{c}:{d.stage_id}",
            "OPPORTUNITY": f"{d.amount:.2f}" if pd.notna(d.amount) else None, "CURRENCY_ID": "RUB",
            "ASSIGNED_BY_ID": str(d.owner_id), "DATE_CREATE": when(d.created_at),
            "CLOSEDATE": when(d.closed_at), "CLOSED": "Y" if pd.notna(d.closed_at) else "N",
            "SOURCE_ID": d.source if isinstance(d.source, str) else None,
        })  # fmt: skip
    pages = [{"result": records[i : i + page], "next": i + page} for i in range(0, len(records), page)]
    (folder / "crm.deal.list.json").write_text(json.dumps(pages, ensure_ascii=False))


def main(n_deals: int = 1_000_000, n_json: int = 1_000_000, n_xlsx: int = 100_000) -> None:
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        tables = sample.generate(n_deals)
        t = step("generate", t, f"deals {len(tables['deals']):,}")
        amocrm_export(tables, root / "amocrm.csv")
        t = step("write amoCRM export (cp1251)", t, f"{(root / 'amocrm.csv').stat().st_size / 1e6:.0f} MB")
        con = connect(root / "amo.duckdb")
        results = load(con, [root / "amocrm.csv"], time_zone="Europe/Moscow")
        deals = next(r for r in results if r.table == "deals")
        reasons = "; ".join(f"{n} × {reason}" for reason, n, _ in deals.top_reasons)
        t = step(
            "load amoCRM export", t, f"{deals.rows_read:,} read, {deals.rows_rejected:,} rejected {reasons}"
        )
        load(con, [root / "amocrm.csv"], time_zone="Europe/Moscow")
        t = step("reload (unchanged file)", t)
        con.close()
        frame = pd.read_csv(root / "amocrm.csv", sep=";", encoding="cp1251", dtype=str, nrows=n_xlsx)
        frame.to_excel(root / "amocrm.xlsx", index=False)
        t = step("write amoCRM export as XLSX", t, f"{len(frame):,} deals")
        con = connect(root / "amo_xlsx.duckdb")
        results = load(con, [root / "amocrm.xlsx"], time_zone="Europe/Moscow")
        deals = next(r for r in results if r.table == "deals")
        t = step("load amoCRM XLSX", t, f"{deals.rows_read:,} read, {deals.rows_rejected:,} rejected")
        con.close()
        bitrix_export(tables, root / "bitrix", n_json)
        size = sum(p.stat().st_size for p in (root / "bitrix").iterdir()) / 1e6
        t = step("write Bitrix24 JSON", t, f"{n_json:,} deals, {size:.0f} MB")
        con = connect(root / "bitrix.duckdb")
        results = load(con, [root / "bitrix"])
        deals = next(r for r in results if r.table == "deals")
        reasons = "; ".join(f"{n} × {reason}" for reason, n, _ in deals.top_reasons)
        step("load Bitrix24 JSON", t, f"{deals.rows_read:,} read, {deals.rows_rejected:,} rejected {reasons}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
