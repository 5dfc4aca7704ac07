"""`crmkit report --cluster`: a batch's render jobs on a Dask distributed cluster (a LocalCluster of
two worker processes here), with a worker killed mid-batch: its jobs go to the other worker or
its restarted self, and the index lists every report."""

import os
import signal
import threading
import time

import pytest

from crmkit import render

distributed = pytest.importorskip("distributed")

NAMES = ["00", "02", "05"]


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:  # fmt: skip
        yield local


def _kill_a_worker_once_busy(address: str, out_root, done: list) -> None:
    """Wait until the first report is written (both workers are then rendering), then kill one
    worker process outright, as a machine lost mid-batch."""
    with distributed.Client(address) as client:
        deadline = time.monotonic() + 120
        while not list(out_root.rglob("*.html")) and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        done.append(victim)


def test_a_two_database_batch_survives_a_killed_worker(cluster, sample_db, make_db, tmp_path):
    from tests.fixtures.scenarios import AS_OF, SCENARIOS

    con, _ = make_db(SCENARIOS)
    con.close()
    other = (tmp_path / "crm.duckdb").rename(tmp_path / "client_b.duckdb")  # a second client
    runs = [render.Run(sample_db, "2026-11-01", "2026-10"), render.Run(other, AS_OF, "p")]
    out = tmp_path / "reports"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_a_worker_once_busy, args=(cluster.scheduler_address, out, killed))
    killer.start()
    results = render.render_batch(runs, out_root=out, names=NAMES, cluster=cluster.scheduler_address)
    killer.join(timeout=180)
    assert killed, "no worker was killed"
    assert len(results) == 2 * len(NAMES)
    assert [r.error for r in results] == [None] * len(results)
    index = (out / "index.html").read_text(encoding="utf-8")
    for run in runs:
        folder = out / render._slug(run.db.stem) / run.period
        for result in results:
            if result.folder == folder:
                assert (folder / f"{result.notebook}.html").exists()
        assert f"{render._slug(run.db.stem)}/{run.period}" in index


def test_a_cluster_that_does_not_answer_is_one_clear_line(sample_db, tmp_path):
    from crmkit.errors import CrmkitError

    with pytest.raises(CrmkitError, match="no Dask scheduler answers there"):
        render.render_batch(
            [render.Run(sample_db, "2026-11-01", "2026-10")], out_root=tmp_path, names=["00"],
            cluster="tcp://127.0.0.1:9",
        )  # fmt: skip
