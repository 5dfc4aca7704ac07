"""Labels that say what they are: the audit's examples name a deal, an activity or a file's row;
a table's note speaks of intervals only under a table that shows them."""

import pandas as pd

from crmkit import findings, metrics, report
from crmkit.db import connect


def test_audit_examples_say_what_they_are(sample_db):
    con = connect(sample_db, read_only=True)
    audit = metrics.data_audit(con, as_of="2026-11-01").set_index("check_name")["examples"]
    # the planted repeated row is the copy's row of deals.csv, not an id; the call a year ahead
    # is an activity, under a heading that also counts deals
    assert audit["duplicated_ids"].startswith("deals row ")
    assert audit["future_timestamps"].startswith("activity ")
    assert findings.examples(audit["future_timestamps"], "ru").startswith("активность ")
    assert findings.examples(audit["duplicated_ids"], "ru").startswith("Сделки, строка ")


def test_table_note_only_says_what_the_table_shows():
    plain = pd.DataFrame({"stage": ["A"], "amount": [1.0]})
    counted = plain.assign(n=[3])
    with_ci = counted.assign(share=[0.5], share_low=[0.2], share_high=[0.8])
    note = {
        name: report.table(frame, {c: "text" for c in ("stage", "n", "share") if c in frame}, "ru").data
        for name, frame in (("plain", plain), ("counted", counted), ("with_ci", with_ci))
    }
    assert "интервал" not in note["plain"] and "n < 5" not in note["plain"]
    assert "интервал" not in note["counted"] and "Серые строки: n < 5." in note["counted"]
    assert "интервал" in note["with_ci"] and "n < 5" in note["with_ci"]
