"""environment.yml and pyproject.toml pin the same versions (one list for conda, one for pip)."""

import re
import tomllib

from crmkit.paths import PROJECT_ROOT


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + [p for extra in project["optional-dependencies"].values() for p in extra]
    conda = re.findall(
        r"^\s+- ([A-Za-z0-9_.-]+==[^\s]+)$", (PROJECT_ROOT / "environment.yml").read_text(), re.M
    )
    assert sorted(set(pins)) == sorted(conda)  # an extra may repeat a pin of another
