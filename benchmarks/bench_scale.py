"""Scale benchmark: the sample at 100,000 and a million deals generated, written, loaded, and
every registered metric table computed once on each, with how its cost grows.

Run with `make bench`; it prints one line per step (seconds, rows). Figures go in the README.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import inspect
import math
import resource
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


def metric_times(db: Path, adoption: Path, as_of: str = "2026-11-01") -> dict[str, float]:
    """Every registered metric once, on a connection whose views are warm (one query before)."""
    con = connect(db, read_only=True)
    con.execute("select count(*) from deals_at(?::timestamp)", [as_of]).fetchone()  # warm-up, not timed
    times = {}
    for name, (func, _) in sorted(metrics.REGISTRY.items()):
        options = {"adoption": str(adoption)} if "adoption" in inspect.signature(func).parameters else {}
        started = time.perf_counter()
        metrics.compute(name, con, as_of=as_of, **options)
        times[name] = time.perf_counter() - started
    con.close()
    return times


def build(root: Path, n_deals: int) -> None:
    t = time.perf_counter()
    tables = sample.generate(n_deals)
    t = step(f"generate {n_deals:,}", t, ", ".join(f"{k} {len(v):,}" for k, v in tables.items()))
    sample.write(tables, root / "csv")
    t = step("write CSV", t)
    del tables
    con = connect(root / "crm.duckdb")
    results = load(con, [root / "csv"])
    t = step("load (validate + merge)", t, f"{sum(r.rows_read for r in results):,} rows read")
    reload = load(con, [root / "csv"])
    step("reload (unchanged files)", t, f"{sum(r.load_id is None for r in reload)} files skipped")
    con.close()


def main(sizes=(100_000, 1_000_000)) -> None:
    """Every metric at each size; the exponent says how its cost grows (1: linearly)."""
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        runs = {}
        for n in sizes:
            root = Path(tmp) / str(n)
            build(root, n)
            runs[n] = metric_times(root / "crm.duckdb", root / "csv" / "adoption.yml")
        small, large = sizes[0], sizes[-1]
        print(f"\n{'metric':<28} {small:>10,} {large:>12,}  exponent")
        for name in runs[large]:
            a, b = runs[small][name], runs[large][name]
            exponent = math.log(b / a) / math.log(large / small) if a > 0 and b > 0 else float("nan")
            print(f"{name:<28} {a:9.2f}s {b:11.2f}s  {exponent:6.2f}")
        totals = [sum(runs[n].values()) for n in (small, large)]
        print(f"{'all metric tables':<28} {totals[0]:9.1f}s {totals[1]:11.1f}s")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (100_000, 1_000_000))
