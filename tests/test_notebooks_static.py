"""House rules every notebook keeps, checked on the jupytext sources: a kernelspec, a parameters
cell papermill can read (one literal assignment per line, no `=` in comments), no SQL and no
function definitions (logic lives in the package)."""

import re

import jupytext
import pytest

from crmkit.render import notebooks

NOTEBOOKS = notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_house_rules(path):
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    for line in parameters[0].source.splitlines():
        assert re.fullmatch(r'\w+ = ("[^"=]*"|[\d.]+)  # [^=]+', line), f"papermill cannot read: {line}"
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert not re.search(r"^\s*(def|class) ", code, re.M)
    assert not re.search(r"\bselect\b.*\bfrom\b", code, re.I)
