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


def test_the_readme_is_short_and_its_documents_exist():
    import re

    from crmkit.paths import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300  # a newcomer's page: details live in docs/
    for path in sorted(set(re.findall(r"docs/[A-Z]+\.md", readme))):
        assert (PROJECT_ROOT / path).is_file(), path
    assert not re.search(r"#\d{2,}\b|\bissue\b|this stop", readme)  # no work-log words
