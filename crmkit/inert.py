"""Untrusted text — every CRM text, API answer and mapping value — written into each output so it
stays text there: a CSS string that cannot end its rule or its `<style>`, a spreadsheet cell that
never runs as a formula. HTML goes through `html.escape` and chart JSON through
`charts.script_json`; cron lines through `schedule.cron_word`."""

from __future__ import annotations

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSS_KEPT = " .,:;()«»—–-"


def css_string(text: str) -> str:
    """`text` as a CSS string: every character but letters, digits and plain punctuation written as
    a six-digit hex escape, so no text can end the string, the rule or the `<style>` element."""
    return '"' + "".join(c if c.isalnum() or c in _CSS_KEPT else f"\\{ord(c):06x}" for c in text) + '"'


def spreadsheet_text(value):
    """A text a spreadsheet would run as a formula (`=HYPERLINK(…)` as a deal title) with a leading
    apostrophe, as OWASP advises; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
