"""`make lab`: the report notebooks open as notebooks (jupytext's viewer is the default for Python
files in this environment's JupyterLab), other overrides are kept, and root gets --allow-root."""

import json
import os

from crmkit import lab


def test_overrides_make_py_files_open_as_notebooks(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    themes = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}
    docs = {"@jupyterlab/docmanager-extension:plugin": {"autosave": False}}
    target.write_text(json.dumps({**themes, **docs}))
    assert lab.write_overrides(tmp_path) == target
    settings = json.loads(target.read_text())
    docs = settings["@jupyterlab/docmanager-extension:plugin"]
    assert docs["defaultViewers"] == {"python": "Jupytext Notebook"}
    assert docs["autosave"] is False  # what was set before stays
    assert settings["@jupyterlab/apputils-extension:themes"]["theme"] == "JupyterLab Dark"
    lab.write_overrides(tmp_path)  # twice: the same file
    assert json.loads(target.read_text()) == settings


def test_the_command_opens_the_notebooks_folder_and_allows_root():
    args = lab.command(["--no-browser"])
    assert args[1:3] == ["-m", "jupyterlab"] and args[3].endswith("notebooks") and args[-1] == "--no-browser"
    assert ("--allow-root" in args) == (os.geteuid() == 0)


def test_make_lab_opens_a_report_notebook_as_a_notebook(tmp_path):
    """JupyterLab started as `make lab` starts it, a report notebook's address opened in headless
    Chromium: a notebook panel, not the text editor (which JupyterLab gives .py files without
    the setting)."""
    import re
    import shutil
    import socket
    import subprocess
    import sys
    import time

    import pytest

    pytest.importorskip("jupyterlab")
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((path for name in names if (path := shutil.which(name))), None)
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "crmkit.lab", "--no-browser", f"--port={port}",
         "--ServerApp.token=crmkit-test", "--ServerApp.ip=127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(120):  # up to a minute for the server to listen
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/lab/tree/01_pipeline_duration.py?reset&token=crmkit-test"
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
             f"--user-data-dir={tmp_path / 'chrome'}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    widgets = re.findall(r'class="[^"]*\b(jp-NotebookPanel|jp-FileEditor)\b', dom)
    assert "jp-NotebookPanel" in widgets and "jp-FileEditor" not in widgets, widgets
