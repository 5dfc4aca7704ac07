"""Counts as the deals stood at as_of (deals_at), never by today's status."""

from crmkit import metrics
from tests.fixtures.scenarios import AS_OF, SCENARIOS


def test_coverage_counts_wins_as_they_stood_at_as_of(make_db):
    """d11 was won on 10 January and reopened on 1 April, after as_of (1 March): today it is open,
    but at as_of it stood won. January's wins: d1 (11th), d4 (30th), d5 (31st), d6 (25th, no
    history), d7 (10th, closed before created), d9 (6th, in «Other») and d11 = 7."""
    deals = SCENARIOS["deals"].rstrip() + "\n        d11,P,B,reopened,100,RUB,u1,Сайт,2026-01-01 00:00:00,,\n"
    changes = SCENARIOS["stage_changes"].rstrip() + (
        "\n        d11,P,A,2026-01-01 00:00:00,u1\n        d11,P,W,2026-01-10 00:00:00,u1"
        "\n        d11,P,B,2026-04-01 00:00:00,u1\n"
    )
    con, _ = make_db({**SCENARIOS, "deals": deals, "stage_changes": changes})
    coverage = metrics.coverage_by_month(con, as_of=AS_OF).set_index("month")
    assert coverage.loc["2026-01-01", "deals_won"] == 7


WHOLE_ACCOUNT = {
    "coverage_by_month", "data_audit", "data_trust", "data_freshness", "load_history", "stage_intervals"
}  # fmt: skip


def test_a_metric_that_cannot_be_narrowed_refuses_the_filter(make_db):
    """The audit's and the loads' tables are of the whole account: asked for one pipeline or one
    owner they refuse, naming the filter, instead of quietly showing everything."""
    import pytest

    from crmkit.errors import CrmkitError

    con, _ = make_db(SCENARIOS)
    for name in sorted(WHOLE_ACCOUNT):
        metrics.compute(name, con, as_of=AS_OF)  # whole: fine
        for key, value in (("pipeline", "Other"), ("owner", "Анна")):
            refused = f"{name} covers the whole account: .* one {key}; leave out --{key}"
            with pytest.raises(CrmkitError, match=refused):
                metrics.compute(name, con, as_of=AS_OF, **{key: value})


def test_every_other_metric_takes_both_filters():
    """Every metric not of the whole account declares pipeline and owner and uses them (it reads
    a scoped view or passes them on): none takes a filter only to drop it."""
    import inspect

    for name, (func, _) in metrics.REGISTRY.items():
        if name in WHOLE_ACCOUNT:
            continue
        source = inspect.getsource(inspect.unwrap(func))
        body = source[source.index(") ->") :]
        assert {"pipeline", "owner"} <= set(inspect.signature(func).parameters), name
        assert "pipeline" in body and "owner" in body, f"{name} takes a filter it never uses"
