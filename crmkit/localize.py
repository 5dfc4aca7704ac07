"""Numbers, money, plurals and dates as a reader of the report's language writes them, by the
CLDR rules Babel carries: «3 002 сделки», «15,1 %», «1,8 раза», «92 300 ₽», «нояб. 2025» in
Russian; "3,002 deals", "15.1%", "RUB 92,300", "Nov 2025" in English. The same locale goes to
Vega (`vega_locale`), so chart axes follow the text around them."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

LANGS = ("en", "ru")

# Nouns that follow a count, by CLDR plural category: English one/other; Russian one (1, 21),
# few (2–4, 22–24), many (5–20, 25–30) and other (fractions: «1,5 сделки», the few form).
NOUNS: dict[str, tuple[tuple[str, str], tuple[str, str, str]]] = {
    "deal": (("deal", "deals"), ("сделка", "сделки", "сделок")),
    "row": (("row", "rows"), ("строка", "строки", "строк")),
    "lead": (("lead", "leads"), ("лид", "лида", "лидов")),
    "event": (("event", "events"), ("событие", "события", "событий")),
    "activity": (("activity", "activities"), ("активность", "активности", "активностей")),
    "minute": (("minute", "minutes"), ("минута", "минуты", "минут")),
    "week": (("week", "weeks"), ("неделя", "недели", "недель")),
    "stage": (("stage", "stages"), ("этап", "этапа", "этапов")),
    "time": (("time", "times"), ("раз", "раза", "раз")),
    "day": (("day", "days"), ("день", "дня", "дней")),
    "month": (("month", "months"), ("месяц", "месяца", "месяцев")),
    "call": (("call", "calls"), ("звонок", "звонка", "звонков")),
    "manager": (("manager", "managers"), ("менеджер", "менеджера", "менеджеров")),
    "visit": (("stay", "stays"), ("пребывание", "пребывания", "пребываний")),
    "forecast": (("forecast", "forecasts"), ("прогноз", "прогноза", "прогнозов")),
    "check": (("check", "checks"), ("проверка", "проверки", "проверок")),
}
_RU_FORM = {"one": 0, "few": 1, "many": 2, "other": 1}

# A Python format spec of a number: sign, grouping, decimals, kind (what the messages use).
_SPEC = re.compile(r"^(?P<sign>\+?)(?P<group>,?)(?:\.(?P<digits>\d+))?(?P<kind>[fd%]?)$")


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGS else "en")


def plural(count: float, noun: str, lang: str = "en") -> str:
    """The form of `noun` (a key of NOUNS) that follows `count`."""
    english, russian = NOUNS[noun]
    category = _locale(lang).plural_form(abs(count))
    if lang == "ru":
        return russian[_RU_FORM[category]]
    return english[0 if category == "one" else 1]


NOISE = 1e-9  # a share this close to 0 or 1 is that end, not a sliver of it: floating-point residue


def number(value, spec: str = ",", lang: str = "en") -> str:
    """`value` formatted by a Python format spec (`,`, `.1f`, `.0%`, `+.0%`, `,.0f`) in the
    language's digits, separators and percent sign; a spec ending `@noun` adds the noun in the
    form the number calls for ("3,002 deals", «3 002 сделки»). Not a number: a dash."""
    spec, _, noun = spec.partition("@")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    match = _SPEC.match(spec) if spec else None
    if match is None:
        text = format(value, spec) if spec else str(value)
    else:
        text = _babel_number(value, match, lang)
        share, step = match["kind"] == "%" and not match["sign"], 10.0 ** -int(match["digits"] or 0) / 100
        # a share that rounds to none or to all is neither: 1 deal in 3,002 is "< 0.1%" of them, not
        # "0.0%", and the other 3,001 are "> 99.9%", not "100.0%" (only a share within a step of
        # either end can: the others are not formatted again)
        if share and NOISE < value < step and text == _babel_number(0.0, match, lang):
            text = "<\u00a0" + _babel_number(step, match, lang)
        elif share and 1 - step < value < 1 - NOISE and text == _babel_number(1.0, match, lang):
            text = ">\u00a0" + _babel_number(1 - step, match, lang)
    text = _minus(text)
    if not noun:
        return text
    digits = int(match["digits"] or 0) if match and match["kind"] != "%" else 0
    shown = Decimal(f"{value:.{digits}f}")  # the number as shown: "1.96" is "2 deals", «1,0 раза»
    return f"{text}\u00a0{plural(shown, noun, lang)}"


def _babel_number(value, match: re.Match, lang: str) -> str:
    digits = int(match["digits"] or 0)
    kind = match["kind"]
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if kind == "d" or (not kind and not match["digits"] and float(value).is_integer()):
        digits = 0
    fraction = ("." + "0" * digits) if digits else ""
    if kind == "%":
        base = _locale(lang).percent_formats[None].pattern  # "#,##0%" / "#,##0 %"
        pattern = base.replace("0", "0" + fraction, 1)
    else:
        pattern = ("#,##0" if match["group"] or lang == "ru" else "0") + fraction
    if match["sign"]:
        pattern = f"+{pattern};-{pattern}"
    if kind == "%":
        return format_percent(value, pattern, locale=_locale(lang), decimal_quantization=True)
    return format_decimal(value, pattern, locale=_locale(lang), decimal_quantization=True)


def p_value(value: float, lang: str = "en") -> str:
    """A p-value to three places as the language writes a decimal: 0.023, «0,023»; below 0.001
    as "< 0.001" (more places would claim a precision the test does not have)."""
    shown = number(max(value, 0.001), ".3f", lang)
    return f"< {shown}" if value < 0.001 else shown


def _minus(text: str) -> str:
    """A negative number's sign as the minus sign (U+2212), not a hyphen: «−377 475 ₽», not
    «-377 475 ₽» (which reads as a dash beside the «—» of a sentence)."""
    return "\u2212" + text[1:] if text.startswith("-") else text


def currency_sign(currency: str, lang: str = "en") -> str:
    """A currency as the language shows it beside a number: «₽» for RUB in Russian, "$" for USD."""
    if not isinstance(currency, str) or not currency:
        return ""
    return _locale(lang).currency_symbols.get(currency, currency)


def money(amount: float, currency: str, lang: str = "en") -> str:
    """A whole amount with its currency as the language writes it: «92 300 ₽», "$92,300",
    "RUB 92,300" (a letter code is kept apart from the digits)."""
    locale = _locale(lang)
    if not isinstance(currency, str) or not currency:  # none named (a table's NaN): the amount bare
        return number(amount, ",.0f", lang)
    pattern = "#,##0\u00a0¤" if lang == "ru" else "¤#,##0"
    text = _minus(format_currency(amount, currency, pattern, locale=locale, currency_digits=False))
    symbol = currency_sign(currency, lang)
    if lang != "ru" and symbol[-1:].isalpha():
        text = text.replace(symbol, symbol + "\u00a0", 1)
    return text


def significant(amount: float, figures: int = 3) -> float:
    """An estimate to `figures` significant figures (8 859 250 → 8 860 000): a forecast is not
    known to the rouble, and printing it so would claim it is."""
    if not math.isfinite(amount) or amount == 0:
        return amount
    return float(round(amount, figures - 1 - math.floor(math.log10(abs(amount)))))


def month(value, lang: str = "en") -> str:
    """A month as a heading or tick: "Nov 2025", «нояб. 2025»."""
    return format_date(value, "LLL y", locale=_locale(lang))


def week(value, lang: str = "en") -> str:
    """A week by its Monday, as a table's column: "Aug 31", «31.08» (the charts' week axis, d3's
    `charts.WEEK_FORMAT`, writes them alike)."""
    return format_date(value, "MMM d" if lang != "ru" else "dd.MM", locale=_locale(lang))


def months(periods, lang: str = "en") -> str:
    """Months in a sentence: «ноябрь 2025, март 2026», "November 2025, March 2026"."""
    return ", ".join(format_date(period.to_timestamp(), "LLLL y", locale=_locale(lang)) for period in periods)


def day_before(value, lang: str = "en", length: str = "medium") -> str:
    """The last day before a moment: the end of a window that runs up to (not including) it."""
    import pandas as pd

    return day(pd.Timestamp(value) - pd.Timedelta(microseconds=1), lang, length)


def day(value, lang: str = "en", length: str = "medium") -> str:
    """A date: "Nov 3, 2025", «3 нояб. 2025 г.»; length "long": "November 3, 2025",
    «3 ноября 2025 г.»."""
    return format_date(value, length, locale=_locale(lang))


@cache
def vega_locale(lang: str) -> dict:
    """The language's number and time formats for Vega (d3-format / d3-time-format locale
    objects, Vega-Lite's `config.locale`), taken from the same CLDR data."""
    locale = _locale(lang)
    symbols = locale.number_symbols["latn"]
    percent_space = "\u00a0" if "\u00a0" in locale.percent_formats[None].pattern else ""
    months = locale.months["stand-alone"]
    days = locale.days["stand-alone"]
    order = [6, 0, 1, 2, 3, 4, 5]  # d3 starts the week on Sunday; CLDR numbers Monday 0
    return {
        "number": {
            "decimal": symbols["decimal"],
            "thousands": "\u00a0" if lang == "ru" else symbols["group"],
            "grouping": [3],
            "currency": ["", "\u00a0₽"] if lang == "ru" else ["$", ""],
            "percent": percent_space + "%",
            "minus": "−",
        },
        "time": {
            "dateTime": "%A, %e %B %Y, %X" if lang == "ru" else "%x, %X",
            "date": "%d.%m.%Y" if lang == "ru" else "%-m/%-d/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [days["wide"][i] for i in order],
            "shortDays": [days["abbreviated"][i] for i in order],
            "months": [months["wide"][i] for i in range(1, 13)],
            "shortMonths": [months["abbreviated"][i] for i in range(1, 13)],
        },
    }
