"""`make lab`: JupyterLab on the notebooks, with the report notebooks (jupytext `.py` files) opening
as notebooks on a double click. The setting goes into this environment's JupyterLab overrides
(`<env>/share/jupyter/lab/settings/overrides.json`), not the user's own settings; as root (a
container) JupyterLab is started with `--allow-root`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from crmkit.paths import PROJECT_ROOT

# jupytext's viewer for Python files, as its documentation sets it ("Jupytext Notebook")
VIEWERS = {"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}


def write_overrides(prefix: Path = Path(sys.prefix)) -> Path:
    """Merge the default viewer into the environment's overrides.json (other settings kept)."""
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    for plugin, settings in VIEWERS.items():
        merged = current.setdefault(plugin, {})
        merged.setdefault("defaultViewers", {}).update(settings["defaultViewers"])
    target.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return target


def command(argv: list[str]) -> list[str]:
    """The JupyterLab command line: the notebooks folder, `--allow-root` when run as root."""
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [sys.executable, "-m", "jupyterlab", str(PROJECT_ROOT / "notebooks"), *root, *argv]


def main(argv: list[str] | None = None) -> None:
    write_overrides()
    args = command(list(sys.argv[1:] if argv is None else argv))
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
