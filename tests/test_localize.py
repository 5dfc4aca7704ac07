"""Numbers, money, plurals and dates as each language writes them (Babel's CLDR data), worked
by hand from a Russian and an English style guide; and the same locale handed to Vega."""

import datetime
import re

import pytest

from crmkit import localize
from crmkit.i18n import t

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("count", "ru", "en"),
    [
        (1, "1 сделка", "1 deal"),
        (2, "2 сделки", "2 deals"),
        (4, "4 сделки", "4 deals"),
        (5, "5 сделок", "5 deals"),
        (11, "11 сделок", "11 deals"),  # 11–14 take "many" although they end in 1–4
        (12, "12 сделок", "12 deals"),
        (21, "21 сделка", "21 deals"),
        (22, "22 сделки", "22 deals"),
        (111, "111 сделок", "111 deals"),
        (3002, "3 002 сделки", "3,002 deals"),
    ],
)
def test_a_count_takes_the_noun_form_it_calls_for(count, ru, en):
    assert localize.number(count, ",@deal", "ru") == ru.replace(" ", NBSP)
    assert localize.number(count, ",@deal", "en") == en.replace(" ", NBSP)


def test_a_fraction_and_a_rounded_count_agree_with_what_is_shown():
    # «1,8 раза», «1,0 раза» (a shown fraction is "other": the few form); 1.96 shown as 2 → «2 сделки»
    assert localize.number(1.8, ".1f@time", "ru") == f"1,8{NBSP}раза"
    assert localize.number(1.0, ".1f@time", "ru") == f"1,0{NBSP}раза"
    assert localize.number(1.96, ",@deal", "ru") == f"2{NBSP}сделки"
    assert localize.number(1, ".0f@row", "ru") == f"1{NBSP}строка"


def test_numbers_and_percentages_by_locale():
    assert localize.number(3002, ",", "ru") == f"3{NBSP}002"
    assert localize.number(3002, ",", "en") == "3,002"
    assert localize.number(0.151, ".1%", "ru") == f"15,1{NBSP}%"
    assert localize.number(0.151, ".1%", "en") == "15.1%"
    assert localize.number(0.3, "+.0%", "ru") == f"+30{NBSP}%"
    assert localize.number(-0.3, "+.0%", "en") == "\u221230%"  # the minus sign, not a hyphen
    assert localize.number(1234567.891, ",.1f", "ru") == f"1{NBSP}234{NBSP}567,9"
    assert localize.number(float("nan"), ".1f", "ru") == "—"
    assert localize.number(2025, "", "ru") == "2025"  # no spec: as it is (a year, an id)


def test_money_by_locale_never_with_a_bare_code_glued_to_digits():
    assert localize.money(92300, "RUB", "ru") == f"92{NBSP}300{NBSP}₽"
    assert localize.money(92300, "USD", "en") == "$92,300"
    assert localize.money(92300, "RUB", "en") == f"RUB{NBSP}92,300"
    assert localize.money(92300, "", "ru") == f"92{NBSP}300"


def test_months_and_days_from_cldr():
    november = datetime.date(2025, 11, 3)
    assert localize.month(november, "ru") == "нояб. 2025"
    assert localize.month(november, "en") == "Nov 2025"
    vega = localize.vega_locale("ru")
    assert vega["number"]["decimal"] == "," and vega["number"]["thousands"] == NBSP
    assert vega["number"]["percent"] == f"{NBSP}%"
    assert vega["time"]["shortDays"][1] == "пн" and vega["time"]["days"][0] == "воскресенье"
    assert vega["time"]["shortMonths"][10] == "нояб."


def test_messages_format_in_the_language():
    # the data note of every report: counts grouped, a share with the Russian percent sign
    note = t("quality_note", "ru", n=3002, history=2550, share=0.849, no_created=1, before=12, rejects=5)
    assert note.startswith(f"Сделок: 3{NBSP}002; с историей этапов: 2{NBSP}550 (85{NBSP}%)")
    english = t("quality_note", "en", n=3002, history=2550, share=0.849, no_created=1, before=12, rejects=5)
    assert english.startswith(f"3,002{NBSP}deals: 2,550 with stage history (85%)")


def test_a_finding_at_scale_groups_its_counts_and_tells_its_interval_ends_apart():
    """Ten million deals: «Авито» converts 11.94% of 578,386 mature leads, 95% CI 11.87%–12.03%.
    At whole percents that read "12% (95% CI 12%–12%, n=578386)": one figure for an interval, and a
    count without its groups. The rate and its interval to one decimal: 11.9% (11.9%–12.0%); the
    overall rate stays 32%, as in every other sentence; the counts are grouped (a bare one and one
    with its noun)."""
    values = dict(source="Авито", rate=0.1194, low=0.1187, high=0.1203, n=578386, overall=0.32, leads=681795)
    english = t("finding_weak_source", "en", **values)
    assert english == (
        "«Авито» converts 11.9% of mature leads (95% CI 11.9%–12.0%, n=578,386) against 32% for all "
        f"sources; 681,795{NBSP}leads came from it in the window."
    )
    russian = t("finding_weak_source", "ru", **values)
    assert f"(95{NBSP}% ДИ 11,9{NBSP}%–12,0{NBSP}%, n=578{NBSP}386)" in russian
    assert f"за окно: 681{NBSP}795." in russian
    # an interval whose ends differ at whole percents keeps them; a four-digit count is grouped
    # too, as both languages write one (a report showed "10,015 deals lost" beside "9275")
    small = t("finding_weak_source", "en", **(values | dict(low=0.09, high=0.15, n=9275)))
    assert "12% of mature leads (95% CI 9%–15%, n=9,275) against 32%" in small
    assert f"n=9{NBSP}275)" in t("finding_weak_source", "ru", **(values | dict(low=0.09, high=0.15, n=9275)))
    assert "n=57)" in t("finding_weak_source", "en", **(values | dict(low=0.09, high=0.15, n=57)))
    # the interval belongs to the percentage just before it, not to the sentence's first: the what-if
    # gain 12.34% (12.01%–12.44%) reads 12.3% (12.0%–12.4%), the 20% reduction stays whole
    whatif = t("finding_whatif", "en", stage="КП", reduction=0.2, cycle=40, new=35, gain=0.1234,
               low=0.1201, high=0.1244, n=1204)  # fmt: skip
    assert "by 20% would cut" in whatif and "by 12.3% (95% CI 12.0%–12.4%, n=1,204 won deals)" in whatif


def test_the_activity_advice_groups_its_counts_in_both_languages():
    """A million deals' weekly table: Ольга's activities fell to 13,942 where 26,697 were expected
    (the counts come as floats); English once printed "26697 → 13942", Russian grouped «26 697»."""
    fall = dict(name="Ольга", change=0.48, before=26697.0, now=13942.0)
    assert "(13,942 against 26,697)" in t("advice_fall", "en", **fall)
    assert f"(13{NBSP}942 вместо 26{NBSP}697)" in t("advice_fall", "ru", **fall)
    low = dict(name="Павел", now=11910.0, ratio=0.42, median=28270.0)
    assert t("advice_low", "en", **low).startswith(f"Павел: 11,910{NBSP}activities, 42% of the team median")
    assert t("advice_low", "ru", **low).startswith(f"Павел: 11{NBSP}910{NBSP}активностей — 42{NBSP}% медианы")


def test_russian_texts_write_a_decimal_comma():
    # A Russian client reads «p < 0,01», not "p < 0.01" (the weekly glossary and legends had it)
    from crmkit.i18n import GLOSSARY, LABELS

    texts = [ru for _, ru in LABELS.values()]
    texts += [ru for terms in GLOSSARY.values() for pair in terms.values() for ru in pair[1:]]
    assert len(texts) > 500
    assert [text for text in texts if re.search(r"\d\.\d", text)] == []


def test_a_share_rounding_to_none_or_all_says_so():
    # The audit read "Negative amounts: 1 (0.0% of deals)": 1 of 3,002 is 0.033%, above zero
    assert localize.number(1 / 3002, ".1%", "en") == f"<{NBSP}0.1%"
    assert localize.number(1 / 3002, ".1%", "ru") == f"<{NBSP}0,1{NBSP}%"
    assert localize.number(0.004, ".0%", "en") == f"<{NBSP}1%"  # 0.4% at whole percents
    assert localize.number(0.0005, ".1%", "en") == f"<{NBSP}0.1%"  # 0.05% rounds half to even: 0.0%
    assert localize.number(0.0012, ".1%", "en") == "0.1%"  # shown as it is
    assert localize.number(0.0, ".1%", "en") == "0.0%"  # none is none
    assert localize.number(3001 / 3002, ".1%", "ru") == f">{NBSP}99,9{NBSP}%"  # nor the rest as all
    assert localize.number(0.996, ".0%", "en") == f">{NBSP}99%"
    assert localize.number(1.0, ".1%", "en") == "100.0%"  # all is all
    assert localize.number(0.9994, ".1%", "en") == "99.9%"
    # floating-point residue is not a share: a Wilson bound of 28 in 28 came out 1 - 2e-16 and read
    # «87,9 %–> 99,9 %» in report 03
    assert localize.number(1 - 2e-16, ".1%", "ru") == f"100,0{NBSP}%"
    assert localize.number(1e-17, ".1%", "en") == "0.0%"
    assert localize.number(0.001, "+.0%", "en") == "+0%"  # a change, not a share: as before


def test_a_month_in_a_table_is_named_and_the_ramp_counted_in_words():
    # Report 04's table wrote "2024-05", which its narrow column broke at the hyphen, and its text
    # "the first 1 month(s)" («Первый месяц(ы) … (1)»)
    import pandas as pd

    from crmkit import report

    frame = pd.DataFrame({"month": pd.period_range("2024-05", periods=2, freq="M"), "n": [3, 4]})
    russian = report.table(frame, {"month": "month", "n": "int"}, "ru").data
    assert "<th>Месяц</th>" in russian and '<td class="month">май 2024</td>' in russian  # set left, unbroken
    assert '<td class="month">Jun 2024</td>' in report.table(frame, {"month": "month"}, "en").data
    ramp = {"date": "1 мая 2025 г.", "ramp": 2}
    assert f"2025 г.; оценки не учитывают 2{NBSP}месяца разгона после него" in t(
        "section_series_text", "ru", **ramp
    )
    assert f"leaves out 1{NBSP}month of ramp-up" in t("section_series_text", "en", **{**ramp, "ramp": 1})


def test_a_week_is_headed_as_each_language_writes_a_day_and_month():
    # The weekly table headed its English columns "07.09", the Russian way; its chart said "Sep 07"
    import pandas as pd

    from crmkit import charts

    monday = pd.Timestamp("2026-09-07")
    assert (localize.week(monday, "en"), localize.week(monday, "ru")) == ("Sep 7", "07.09")
    assert charts.WEEK_FORMAT == {"en": "%b %-d", "ru": "%d.%m"}  # d3's words for the same


def test_a_column_of_names_stays_on_one_line_and_long_titles_may_wrap():
    # Report 05's daily table broke every manager's name in two, doubling each of its 70 rows
    import pandas as pd

    from crmkit import report

    title = "ООО «Уралмаш-Сервис-70» — сервисный контракт"
    frame = pd.DataFrame({"owner": ["Алексей Лебедев"], "title": [title]})
    html = report.table(frame, {"owner": "text", "title": "text"}, "ru").data
    assert '<td class="short">Алексей Лебедев</td>' in html and '<td class="">ООО' in html


def test_an_interval_with_a_bound_the_sample_cannot_give_is_left_open():
    # A quartile of 9 won deals read «—–39,9» under its value: its lower bound needs more deals
    import numpy as np
    import pandas as pd

    from crmkit import report

    nan = np.nan
    frame = pd.DataFrame({"m": [35.0, 10.0, 5.0, 7.0]}).assign(
        m_low=[nan, 8.0, nan, 6.0], m_high=[39.9, nan, nan, 8.5]
    )
    cells = re.findall(r'<span class="ci">(.*?)</span>', report.table(frame, {"m": "days"}, "ru").data)
    assert cells == [f"≤{NBSP}39,9", f"≥{NBSP}8,0", "—", "6,0–8,5"]
    # the per-stage matrix (manager × stage) writes its intervals the same way
    stages = frame.assign(pipeline="P", stage=["A", "B", "C", "D"], position=[1, 2, 3, 4], name="Анна", n=9)
    cells = re.findall(r'<span class="ci">(.*?) · n=9</span>', report.matrix(stages, "m", "days", "ru").data)
    assert cells == [f"≤{NBSP}39,9", f"≥{NBSP}8,0", "—", "6,0–8,5"]


def test_estimates_to_three_significant_figures():
    from crmkit import findings, localize, report

    # 8 859 250 has its third figure in the ten-thousands: 8 860 000; a loss keeps its sign
    assert localize.significant(8_859_250) == 8_860_000
    assert localize.significant(-377_475) == -377_000
    assert localize.significant(999.6) == 1_000
    assert localize.significant(0.0) == 0.0
    assert findings.estimate(8_859_250, "RUB", "ru") == "8\u00a0860\u00a0000\u00a0₽"
    assert findings.estimate(float("nan"), "RUB", "en") == "amount unknown"
    assert report._fmt(8_859_250.0, "estimate", "en") == "8,860,000"
    assert report._fmt(8_859_250.0, "money", "en") == "8,859,250"  # a count of money stays exact
