"""Scale benchmark: the sample at 100,000 and a million deals (or the sizes given) written,
loaded beside DuckDB's plain typed read_csv of the same files, every registered metric table
computed once on a connection pinned to the report's as_of (the pin's own cost printed apart),
and at the largest size the seven reports rendered as `crmkit report` renders them.

Run with `make bench`; it prints one line per step (seconds, peak memory of the step's process,
rows). Figures go in docs/BENCHMARKS.md. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import inspect
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import reference

from crmkit import metrics
from crmkit.db import build_pins, connect, pin

AS_OF = "2026-11-01"
CRMKIT = [sys.executable, "-m", "crmkit.cli"]


def step(label: str, seconds: float, detail: str = "") -> None:
    print(f"{label:<34} {seconds:7.1f} s  {detail}", flush=True)


def child(label: str, command: list[str], *, quiet: bool = False) -> float:
    """Run a step as its own process: its time and the peak memory of its largest process
    (`quiet`: without its messages, e.g. the notebook kernels' start-up warnings). The peak is
    read by GNU time, whose child starts small: a child forked from this process would count
    this process's own memory (a million deals' metrics) as its peak."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timer = ["/usr/bin/time", "-f", "%M", "-o", rss.name] if Path("/usr/bin/time").exists() else []
        started = time.perf_counter()
        done = subprocess.run(
            timer + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if quiet else None
        )
        seconds = time.perf_counter() - started
        peak = f"peak {int(rss.read().split()[-1]) / 1e6:.1f} GB" if timer else ""
    if done.returncode:
        raise SystemExit(f"{label}: {' '.join(command)} failed")
    step(label, seconds, peak)
    return seconds


def read_csv_reference(csv: Path) -> float:
    """DuckDB's typed read_csv of the same files into a fresh database: the yardstick of a load."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crmkit-readcsv-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "plain.duckdb"))
        for file in sorted(csv.glob("*.csv")):
            con.execute(f"create table {file.stem} as select * from read_csv('{file}')")
        con.close()
    seconds = time.perf_counter() - started
    step("DuckDB read_csv (reference)", seconds)
    return seconds


def metric_times(db: Path, adoption: Path) -> dict[str, float]:
    """Every registered metric once, on a connection pinned to AS_OF as a report's is; building the
    pinned tables (the two stage sequences and deals_at, once per report) is timed apart."""
    con = connect(db, read_only=True)
    pin(con, pd.Timestamp(AS_OF))
    started = time.perf_counter()
    build_pins(con)
    step("pin the stage sequences + deals_at", time.perf_counter() - started, "once per report")
    times = {}
    for name, (func, _) in sorted(metrics.REGISTRY.items()):
        options = {"adoption": str(adoption)} if "adoption" in inspect.signature(func).parameters else {}
        times[name] = warm_time(lambda: metrics.compute(name, con, as_of=AS_OF, **options), runs=1)  # noqa: B023
    con.close()
    return times


def warm_time(run, runs: int = 3) -> float:
    """The median time of `runs` runs after one warm-up run, which is not counted (its first
    touch of the data and of fresh memory is a cost a report pays once, not per metric)."""
    run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def versus_references(db: Path, crmkit_times: dict[str, float]) -> None:
    """crmkit's metrics beside the yardsticks (benchmarks/reference.py): the plain figure
    in DuckDB SQL and in pandas, over the same database, as_of and window."""
    con = connect(db, read_only=True)
    started = time.perf_counter()
    frames = reference.pandas_frames(con)
    step("pandas: the tables read (untimed)", time.perf_counter() - started)
    print(f"\n{'computes':<24} {'crmkit':>8} {'DuckDB':>8} {'pandas':>8}  crmkit/DuckDB  crmkit/pandas")
    for name, metric in reference.CRMKIT.items():
        plain = warm_time(lambda: reference.duckdb_reference(con, name, AS_OF))  # noqa: B023
        idiomatic = warm_time(lambda: reference.pandas_reference(frames, name, AS_OF))  # noqa: B023
        ours = crmkit_times[metric]
        times = f"{ours:7.2f}s {plain:7.2f}s {idiomatic:7.2f}s"
        print(f"{name:<24} {times}  {ours / plain:12.1f}×  {ours / idiomatic:12.1f}×", flush=True)
    con.close()


def build(root: Path, n_deals: int) -> None:
    csv, db = root / "csv", root / "crm.duckdb"
    child(f"sample {n_deals:,} (written)", [*CRMKIT, "sample", "--deals", str(n_deals), "--out", str(csv)])
    reference = read_csv_reference(csv)
    loaded = child("crmkit load", [*CRMKIT, "load", str(csv), "--db", str(db)])
    print(f"{'':<34} load / read_csv = {loaded / reference:.1f}", flush=True)
    child("crmkit load again (unchanged)", [*CRMKIT, "load", str(csv), "--db", str(db)])


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
        versus_references(Path(tmp) / str(large) / "crm.duckdb", runs[large])
        print()
        root = Path(tmp) / str(large)
        child(
            f"crmkit report, 7 reports, {large:,}",
            [
                *CRMKIT,
                "report",
                "--db",
                str(root / "crm.duckdb"),
                "--month",
                "2026-10",
                "--out",
                str(root / "r"),
            ],
        )
        sizes_kb = [f.stat().st_size // 1024 for f in (root / "r").rglob("*.html")]
        print(f"{'':<34} largest report {max(sizes_kb):,} KB", flush=True)


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (100_000, 1_000_000))
