"""The one exception type users see (its message is the whole user interface of a failure), and
the reading of YAML files of fields, whose mistakes are reported the same way."""


class CrmkitError(Exception):
    """A problem with the user's input or environment, explained in plain words (no traceback)."""


def read_yaml_fields(path, what: str) -> dict:
    """A YAML file of fields (`what`: "mapping", "adoption file"), or a CrmkitError saying which
    file and what is wrong with it."""
    from pathlib import Path

    import yaml

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CrmkitError(f"{what} not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise CrmkitError(f"{what} {path.name}: not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise CrmkitError(f"{what} {path.name}: expected fields (key: value), found {type(spec).__name__}")
    return spec
