"""Scale benchmark: a million-deal sample generated, written, loaded, and the §1 metrics run.

Run with `make bench`; it prints one line per step (seconds, rows). Figures go in the README.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from crmkit import metrics, sample
from crmkit.db import connect
from crmkit.importers import load


def step(label: str, started: float, detail: str = "") -> float:
    now = time.perf_counter()
    print(f"{label:<28} {now - started:7.1f} s  {detail}", flush=True)
    return now


def main(n_deals: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        tables = sample.generate(n_deals)
        t = step("generate", t, ", ".join(f"{k} {len(v):,}" for k, v in tables.items()))
        sample.write(tables, root / "csv")
        t = step("write CSV", t)
        del tables
        con = connect(root / "crm.duckdb")
        results = load(con, [root / "csv"])
        t = step("load (validate + merge)", t, f"{sum(r.rows_read for r in results):,} rows read")
        reload = load(con, [root / "csv"])
        t = step("reload (unchanged files)", t, f"{sum(r.load_id is None for r in reload)} files skipped")
        for name in ("won_cycle", "time_to_close", "stale_deals", "stuck_deals"):
            frame = metrics.compute(name, con, as_of="2026-11-01")
            t = step(f"metric {name}", t, f"{len(frame):,} rows")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
