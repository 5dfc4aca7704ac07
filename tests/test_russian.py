"""Every report read as a Russian client reads it: rendered with lang=ru, no word in Latin script
is left in what the page or its charts say, except names that come from the data (stages,
managers, pipelines, sources, deal titles, the time zone, the files loaded and their column
headers, the goals of the adoption file) and the terms a Russian report keeps as they are (CRM,
ROI, p, n, P10/P50/P90)."""

import html
import re
from concurrent.futures import ProcessPoolExecutor

import nbformat
import pytest
import vl_convert

from crmkit import adoption, charts
from crmkit.db import connect
from crmkit.render import execute, notebooks

ALLOWED = {"CRM", "ROI", "p", "n", "P10", "P50", "P90", "crmkit"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _execute(source, folder, parameters):
    target = folder / f"{source.stem}.ipynb"
    execute(source, target, parameters)
    return target


@pytest.fixture(scope="module")
def russian(sample_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ru")
    parameters = {"db_path": str(sample_db), "as_of": "2026-11-01", "lang": "ru"}
    sources = notebooks()
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(_execute, sources, [folder] * len(sources), [parameters] * len(sources)))


def _said(notebook_path) -> str:
    """The text a reader sees: every HTML output without its scripts and tags, and each chart's
    words as drawn (the SVG's text)."""
    parts = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if charts.CHART_MIME in data:
                svg = vl_convert.vegalite_to_svg(data[charts.CHART_MIME])
                parts += [html.unescape(text) for text in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]
            elif "text/html" in data:
                page = data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"])
                page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
                parts.append(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    return "\n".join(parts)


def _names_in(db) -> set[str]:
    con = connect(db, read_only=True)
    texts = [
        value
        for sql in (
            "select name from stages", "select name from pipelines", "select name from users",
            "select title from deals", "select source from deals", "select time_zone from loads",
            "select currency from deals", "select team from users", "select file_name from loads",
            "select column_name from information_schema.columns where table_schema = 'main'",
        )
        for (value,) in con.execute(sql).fetchall()
        if value
    ]  # fmt: skip
    con.close()
    goals = [goal.name for goal in adoption.read(adoption.find("", db)).goals]
    named = texts + goals + [db.name, "adoption.yml"]
    return {word for text in named for word in LATIN_WORD.findall(str(text))}


def test_no_english_word_is_left_in_a_russian_report(russian, sample_db):
    allowed = ALLOWED | _names_in(sample_db)
    left = {}
    for path in russian:
        words = sorted({w for w in LATIN_WORD.findall(_said(path)) if w not in allowed})
        if words:
            left[path.stem] = words
    assert left == {}


# Method words a sales director does not read: they belong to the glossary, at a report's end
JARGON = ("Каплан", "Брукмейер", "биномиальн", "цензур", "заход на этап", "заходы на этап", "эмпирическ",
          "доказательност", "пуассон", "Пуассон")  # fmt: skip


def test_no_method_jargon_before_the_glossary(russian):
    found = {}
    for path in russian:
        said = _said(path)
        before = said.split("Как это посчитано")[0]  # the block at the end names the methods, on purpose
        words = sorted({word for word in JARGON if word.lower() in before.lower()})
        if words:
            found[path.stem] = words
    assert found == {}


ISO_DATE = re.compile(r"\b\d{4}-\d{2}(-\d{2})?\b")


def _prose(notebook_path) -> list[str]:
    """The sentences a reader reads: the paragraphs and list items of every HTML output (tables
    and charts hold dates as data, in their own format)."""
    found = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html", "")
            page = page if isinstance(page, str) else "".join(page)
            page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
            for block in re.findall(r"<(?:p|li|h1|h2)\b[^>]*>(.*?)</(?:p|li|h1|h2)>", page, flags=re.S):
                found.append(html.unescape(re.sub(r"<[^>]+>", " ", block)))
    return found


def test_dates_in_sentences_are_written_out(russian):
    """«1 ноября 2025 г.», «ноябрь 2025» — not 2025-11-01 or 2025-11 in a sentence."""
    left = {}
    for path in russian:
        iso = sorted({match.group(0) for text in _prose(path) for match in ISO_DATE.finditer(text)})
        if iso:
            left[path.stem] = iso
    assert left == {}
