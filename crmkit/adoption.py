"""The CRM adoption description a consultant fills in (YAML beside the data), read strictly:
every missing or malformed field is named in the error.

    adoption_date: 2025-05-01     # the first day the CRM was in use
    ramp_months: 1                # months after adoption left out of the estimate (recording starts empty)
    currency: RUB
    gross_margin: 0.35            # share of revenue that is gross profit
    costs:                        # one-off costs, and licences per seat per month from adoption on
      licence_per_seat_month: 1500
      seats: 10
      implementation: 300000
      consultants: 150000
      equipment: 50000
      training_hours: 80
      hourly_rate: 1200
    promotion_months: [2025-11]   # months with promotions: flagged, left out of a sensitivity run
    goals:                        # weighted: a metric's estimated change, or an actual measured elsewhere
      - {name: "+10% revenue per manager", metric: revenue_per_manager, target: 0.10, weight: 2}
      - {name: "-10% sales and marketing cost", actual: -0.06, target: -0.10, weight: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crmkit.errors import CrmkitError, read_yaml_fields

METRICS = ("revenue", "n_won", "avg_check", "revenue_per_manager")
COST_FIELDS = (
    "licence_per_seat_month",
    "seats",
    "implementation",
    "consultants",
    "equipment",
    "training_hours",
    "hourly_rate",
)


@dataclass(frozen=True)
class Goal:
    name: str
    target: float
    weight: float
    metric: str | None = None
    actual: float | None = None


@dataclass(frozen=True)
class Adoption:
    adoption_date: pd.Timestamp
    gross_margin: float
    costs: dict[str, float]
    currency: str = ""
    ramp_months: int = 1
    promotion_months: tuple[pd.Period, ...] = ()
    goals: tuple[Goal, ...] = field(default=())

    @property
    def one_off_cost(self) -> float:
        c = self.costs
        return (
            c["implementation"] + c["consultants"] + c["equipment"] + c["training_hours"] * c["hourly_rate"]
        )

    @property
    def monthly_cost(self) -> float:
        return self.costs["licence_per_seat_month"] * self.costs["seats"]


def read(path: str | Path) -> Adoption:
    path = Path(path)
    spec = read_yaml_fields(path, "adoption file")

    def fail(message):
        raise CrmkitError(f"adoption file {path.name}: {message}")

    def number(where: dict, key: str, label: str, *, low=None, high=None) -> float:
        if key not in where:
            fail(f"{label} is missing")
        value = where[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(f"{label} must be a number, not {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            fail(f"{label} must be between {low} and {high}, not {value}")
        return float(value)

    if "adoption_date" not in spec:
        fail("adoption_date is missing (the first day the CRM was in use)")
    try:
        date = pd.Timestamp(spec["adoption_date"])
    except (ValueError, TypeError):
        fail(f"adoption_date is not a date: {spec['adoption_date']!r}")
    margin = number(spec, "gross_margin", "gross_margin", low=0, high=1)
    costs_spec = spec.get("costs")
    if not isinstance(costs_spec, dict):
        fail("costs is missing (licence_per_seat_month, seats, implementation, …)")
    costs = {key: number(costs_spec, key, f"costs.{key}", low=0) for key in COST_FIELDS}
    try:
        promotions = tuple(pd.Period(str(m), freq="M") for m in spec.get("promotion_months") or [])
    except ValueError:
        fail(f"promotion_months must be months like 2025-11: {spec.get('promotion_months')!r}")
    goals = []
    for i, goal in enumerate(spec.get("goals") or [], 1):
        label = f"goals[{i}]"
        if not isinstance(goal, dict) or "name" not in goal:
            fail(f"{label} needs a name, a target, a weight and a metric or an actual")
        metric_name, actual = goal.get("metric"), goal.get("actual")
        if (metric_name is None) == (actual is None):
            fail(f"{label} ({goal['name']}) needs either metric (one of {', '.join(METRICS)}) or actual")
        if metric_name is not None and metric_name not in METRICS:
            fail(f"{label}.metric must be one of {', '.join(METRICS)}, not {metric_name!r}")
        goals.append(
            Goal(
                str(goal["name"]),
                number(goal, "target", f"{label}.target"),
                number(goal, "weight", f"{label}.weight", low=0),
                metric_name,
                None if actual is None else number(goal, "actual", f"{label}.actual"),
            )
        )
    ramp = spec.get("ramp_months", 1)
    if not isinstance(ramp, int) or ramp < 0:
        fail(f"ramp_months must be a whole number of months, not {ramp!r}")
    return Adoption(date, margin, costs, str(spec.get("currency", "")), ramp, promotions, tuple(goals))


def find(adoption_path: str | Path, db_path: str | Path) -> Path | None:
    """The adoption file: the one given, else adoption.yml beside the database (None: there is
    none). Never another database's: a client's report must not borrow the sample's costs."""
    if adoption_path:
        return Path(adoption_path)
    beside = Path(db_path).parent / "adoption.yml"
    return beside if beside.exists() else None


def locate(adoption_path: str | Path, db_path: str | Path) -> Path:
    """The adoption file (see `find`), or an error saying where to put one."""
    found = find(adoption_path, db_path)
    if found is None:
        raise CrmkitError(
            "no adoption file: set the adoption_path parameter, or put adoption.yml beside "
            f"{Path(db_path).name}"
        )
    return found
