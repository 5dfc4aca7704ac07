"""Property-based checks of the importers: whatever the bytes, a load either fails with a
CrmkitError (a message, never a stack trace) and leaves the database as it was, or succeeds with
every input row loaded or rejected (rows read = loaded + rejected, and as many rows read as the
file has). Shuffling an export's rows changes nothing that is loaded."""

import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.db import connect
from crmkit.errors import CrmkitError
from crmkit.importers import load

FIXTURES = Path(__file__).parent / "fixtures"
AMO_EXPORT = (FIXTURES / "amocrm" / "export.csv").read_text(encoding="utf-8")
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)


def state(con):
    return [
        con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("deals", "stage_changes", "loads", "rejects")
    ]


def load_safely(con, paths, **kwargs):
    """Load; a CrmkitError must leave the database unchanged. Returns the results or None."""
    before = state(con)
    try:
        results = load(con, paths, **kwargs)
    except CrmkitError as exc:
        assert str(exc)  # a message for a person
        assert state(con) == before
        return None
    for r in results:
        assert r.rows_read == r.rows_loaded + r.rows_rejected
        logged = con.execute("select count(*) from rejects where load_id = ?", [r.load_id]).fetchone()[0]
        assert logged == r.rows_rejected
    return results


@pytest.fixture
def fresh(tmp_path_factory):
    def make():
        folder = tmp_path_factory.mktemp("prop")
        return folder, connect(folder / "crm.duckdb")

    return make


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["auto", "amocrm", "pipedrive", "hubspot", "csv"]),
       st.sampled_from(["deals.csv", "export.xlsx", "leads.json"]))  # fmt: skip
def test_garbage_never_crashes(fresh, data, fmt, name):
    folder, con = fresh()
    path = folder / name
    path.write_bytes(data)
    load_safely(con, [path], fmt=fmt)


@SETTINGS
@given(st.integers(min_value=1, max_value=len(AMO_EXPORT.encode("cp1251", "replace")) - 1))
def test_truncated_export_loses_no_row(fresh, cut):
    """An export cut anywhere: every data line that is left is loaded or rejected."""
    folder, con = fresh()
    data = AMO_EXPORT.encode("cp1251", "replace")[:cut]
    path = folder / "export.csv"
    path.write_bytes(data)
    results = load_safely(con, [path], fmt="amocrm", time_zone="Europe/Moscow")
    if results is not None:
        lines = [line for line in data.decode("cp1251").splitlines()[1:] if line.strip()]
        deals = next(r for r in results if r.table == "deals")
        assert deals.rows_read == len(lines)


@SETTINGS
@given(st.integers(min_value=1, max_value=2000))
def test_truncated_json_fails_cleanly(fresh, cut):
    folder, con = fresh()
    api = folder / "api"
    shutil.copytree(FIXTURES / "amocrm" / "api", api)
    events = (api / "events.json").read_bytes()
    (api / "events.json").write_bytes(events[: cut % len(events)])
    load_safely(con, [api])


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_shuffled_rows_load_the_same(fresh, rnd: random.Random):
    folder, con = fresh()
    header, *lines = AMO_EXPORT.splitlines()
    rnd.shuffle(lines)
    path = folder / "export.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    load_safely(con, [path], time_zone="Europe/Moscow")
    loaded = con.execute("select deal_id, stage_id, amount, created_at from deals order by 1").fetchall()
    assert [d for d, *_ in loaded] == ["101", "102", "103", "105"]
    assert con.execute("select count(*) from rejects").fetchone()[0] == 1  # the 31 February


CELL = st.text(alphabet="абвАБВabc019 .,;:\"'\t-–₽", max_size=12)


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=1, max_size=14), max_size=12), st.sampled_from(["utf-8", "cp1251"]))
def test_mangled_rows_are_loaded_or_rejected(fresh, table, encoding):
    """The export's header, then rows of random cells (quotes, separators, wrong widths)."""
    folder, con = fresh()
    header = AMO_EXPORT.splitlines()[0].replace("Бюджет ₽", "Бюджет")
    body = "\n".join(";".join(cells) for cells in table)
    path = folder / "export.csv"
    path.write_bytes(f"{header}\n{body}\n".encode(encoding, "replace"))
    load_safely(con, [path], fmt="amocrm")
