"""Where things live by default. Constants only: no I/O at import."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
DEFAULT_DB = DATA_DIR / "crm.duckdb"  # your own data (`crmkit load`)
SAMPLE_DB = SAMPLE_DIR / "crm.duckdb"  # the sample's own database, beside its adoption.yml
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
# A pull's folder in a CRM's raw folder (`crmkit pull --out`) is named by the moment it began, UTC
# (a second pull in the same second gets "-2"): written by crmkit.pull.base, read by `load`
PULL_MOMENT = "%Y-%m-%dT%H%M%SZ"
