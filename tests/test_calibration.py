"""A seeded slice of `make calibrate` (benchmarks/calibrate.py): on accounts of known truth, every
band, interval and flag must cover what it claims within the binomial tolerance of a few
accounts — the weekly flags on accounts with no drop and with a 40% drop, the adoption intervals
with and without AR(1) noise, the duration intervals, the forecast band on small accounts. The
full run, at 3,000 / 50,000 / 1,000,000 deals, writes docs/CALIBRATION.md."""

import pytest

from benchmarks import calibrate


@pytest.fixture(scope="module")
def claims():
    return calibrate.run(quick=True)[0]


def test_every_claim_holds_on_the_seeded_slice(claims):
    failed = [claim.row() for claim in claims if not claim.ok]
    assert not failed, "\n".join(failed)


def test_the_slice_measures_every_kind_of_claim(claims):
    kinds = {claim.claim.split(":")[0].split(" ")[0] for claim in claims}
    assert kinds == {"weekly", "activity", "adoption", "time", "won", "forecast"}
    assert all(claim.n > 0 for claim in claims)


def test_a_claim_that_misses_its_band_fails():
    # 73 of 100 intervals covering (OLS under AR(1) noise): Wilson 63.6%–80.7%, far from 92%–97%
    assert not calibrate.Claim("c", "w", "95%", 73, 100, (0.92, 0.97)).ok
    # 2 of 3 accounts finding a drop: 20.8%–93.9% reaches 80%: too few accounts to call it a miss
    assert calibrate.Claim("c", "w", "80%", 2, 3, (0.8, 1.0)).ok
