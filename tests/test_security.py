"""What crmkit promises about untrusted input (docs/SECURITY.md), one test per promise: CRM text is
inert in the PDF and the workbook; a pull sends its secret only to the account's own origin, ends
whatever the server does and says what went wrong in one line; cron lines run nothing but crmkit;
a mapping reads its own file's columns and nothing else."""

import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import bundle
from crmkit.inert import FORMULA_STARTS

MARKUP = "<>&\"'/=+-@!;(){}\\\n\t\r abcstylelinkimgsrchrefHYPERLINK:"
HOSTILE = st.text(alphabet=MARKUP + "\u2028", min_size=1, max_size=60)


class Recorder:
    """A loopback server that records every request made to it: nothing should ask it anything."""

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"secret")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    with Recorder() as server:
        yield server


def _pdf_text(path: Path) -> tuple[str, dict]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages), dict(reader.attachments)


# --- the PDF ------------------------------------------------------------------------------------


def test_a_client_name_cannot_leave_the_pdfs_page_header(recorder, tmp_path):
    """The name goes into a CSS string of the page header: `</style>` there once closed the style
    and the rest was markup, which attached /etc/passwd and fetched a URL."""
    client = f"ACME</style><link rel=attachment href=file:///etc/passwd><img src={recorder.url}/x><style>"
    pages = "".join(f"<p>paragraph {i}</p>" for i in range(120))  # two pages: the header shows from page 2
    target = tmp_path / "audit.pdf"
    bundle._write_pdf([pages], target, client=client, stamp="1 May 2026", title=client, lang="en")
    text, attachments = _pdf_text(target)
    assert recorder.hits == [] and attachments == {}
    assert b"root:" not in target.read_bytes()
    assert "ACME</style><link rel=attachment" in text  # the name, as text, in the header


def test_the_pdf_fetches_nothing_but_its_own_inline_resources(recorder, tmp_path):
    """Markup that reached the document anyway (a writer that forgot to escape) still reads no
    file and calls no server; the document's own data: images are drawn."""
    block = (
        f"<link rel=attachment href='file:///etc/passwd'><img src='{recorder.url}/img'>"
        f"<link rel=stylesheet href='{recorder.url}/css'><img src='file:///etc/hostname'>"
        "<img alt='dot' src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='><p>body</p>"
    )
    target = tmp_path / "audit.pdf"
    bundle._write_pdf([block], target, client="ACME", stamp="1 May 2026", title="t", lang="en")
    _, attachments = _pdf_text(target)
    assert recorder.hits == [] and attachments == {}
    assert b"/Subtype /Image" in target.read_bytes()  # the inline image is there


@settings(max_examples=12, deadline=None)
@given(text=st.text(alphabet=MARKUP, min_size=1, max_size=60))
def test_any_string_is_text_in_the_pdf(tmp_path_factory, text):
    """Drawn as the client's name, the title and a finding: no attachment, no fetch, and the PDF's
    text holds the string's letters (WeasyPrint drops control characters and folds spaces)."""
    import html

    with Recorder() as recorder:
        target = tmp_path_factory.mktemp("pdf") / "a.pdf"
        pages = "".join(f"<p>{html.escape(text)} {i}</p>" for i in range(100))
        bundle._write_pdf([pages], target, client=text + recorder.url, stamp=text, title=text, lang="en")
        extracted, attachments = _pdf_text(target)
        assert recorder.hits == [] and attachments == {}
    for word in re.findall(r"[^\W_]+", text):  # each run of letters, as text on the page
        assert word in extracted


# --- the workbook -------------------------------------------------------------------------------


def _sheet(values: list[str]) -> dict:
    data = {"sheet": "stale_deals", "headers": ["Owner", "Amount"], "kinds": ["text", "money"],
            "rows": [[value, 100] for value in values]}  # fmt: skip
    return {"stale_deals": (1, "Stale deals", data)}


def _cells(path: Path) -> list:
    """Every cell as stored in the file: (type, value) from the sheet's XML, with no reader's help."""
    from openpyxl import load_workbook

    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml  # no formula anywhere
    book = load_workbook(path)
    return [(cell.data_type, cell.value) for row in book.active.iter_rows() for cell in row]


def test_workbook_text_never_becomes_a_formula(tmp_path):
    owners = ['=HYPERLINK("http://evil","o")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1",
              "Анна"]  # fmt: skip
    target = tmp_path / "audit.xlsx"
    bundle._write_workbook(_sheet(owners), target, "en")
    cells = _cells(target)
    texts = [value for kind, value in cells if kind == "s"]
    # each formula start gets OWASP's apostrophe; a plain name stays as it is; the amounts stay numbers
    assert texts == ["Owner", "Amount", *("'" + o for o in owners[:-1]), "Анна"]
    assert [value for kind, value in cells if kind == "n"] == [100] * len(owners)


@settings(max_examples=40, deadline=None)
@given(text=HOSTILE)
def test_any_string_is_a_string_cell_in_the_workbook(tmp_path_factory, text):
    from openpyxl.utils.exceptions import IllegalCharacterError

    target = tmp_path_factory.mktemp("xlsx") / "a.xlsx"
    try:
        bundle._write_workbook(_sheet([text]), target, "en")
    except IllegalCharacterError:
        pytest.fail(f"{text!r} broke the workbook")
    (_, value), = [cell for cell in _cells(target)[2:] if cell[0] == "s"]
    expected = "'" + text if text.startswith(FORMULA_STARTS) else text
    assert value == expected.replace("\r", "\n")  # XML reads a bare CR as a line end
