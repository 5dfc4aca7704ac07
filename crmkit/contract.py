"""The canonical tables as data: column types, required columns, keys and references.

`schema.sql` creates the tables; this module tells the importers how to read text into them,
which rows to reject and how to merge a new load into what is there (by key).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | timestamp | date | decimal | float | int | bool | enum
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enum
    default: str | None = None  # SQL used when the source leaves the value empty
    minimum: float | None = None  # a smaller value is rejected (a negative call duration)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # (columns here, table there, columns there): rows whose non-null reference has no match
    # are rejected, so no row silently drops out of a later join.
    references: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = field(default=())
    # (column, bound): a date given without a time (Salesforce's CloseDate, a spreadsheet's
    # date cell) means some moment of that day, never before `bound` of the same row: such a
    # value on the day of `bound` but before it is read as `bound` (a deal won the day it was
    # created is not "closed before created").
    day_not_before: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, type_="text", required=False, values=()):
    return Column(name, type_, required, tuple(values))


KINDS = ("open", "won", "lost")
ACTIVITY_KINDS = ("call", "email", "meeting", "task", "proposal", "payment", "complaint", "note")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "pipelines", (_c("pipeline_id", required=True), _c("name", required=True)), key=("pipeline_id",)
        ),
        Table(
            "stages",
            (
                _c("pipeline_id", required=True),
                _c("stage_id", required=True),
                _c("name", required=True),
                _c("position", "int", True),
                _c("kind", "enum", True, KINDS),
                Column("is_inbox", "bool", default="false"),
            ),
            key=("pipeline_id", "stage_id"),
            references=((("pipeline_id",), "pipelines", ("pipeline_id",)),),
        ),
        Table(
            "users",
            (
                _c("user_id", required=True),
                _c("name", required=True),
                _c("team"),
                Column("is_active", "bool", default="true"),
            ),
            key=("user_id",),
        ),
        Table(
            "deals",
            (
                _c("deal_id", required=True),
                _c("pipeline_id", required=True),
                _c("stage_id", required=True),
                _c("title"),
                _c("client"),
                _c("amount", "decimal"),
                _c("currency"),
                _c("owner_id"),
                _c("source"),
                _c("created_at", "timestamp"),
                _c("closed_at", "timestamp"),
                _c("loss_reason"),
            ),
            key=("deal_id",),
            references=(
                (("pipeline_id", "stage_id"), "stages", ("pipeline_id", "stage_id")),
                (("owner_id",), "users", ("user_id",)),
            ),
            day_not_before=(("closed_at", "created_at"),),
        ),
        Table(
            "stage_changes",
            (
                _c("deal_id", required=True),
                _c("pipeline_id", required=True),
                _c("stage_id", required=True),
                _c("entered_at", "timestamp", True),
                _c("changed_by"),
            ),
            key=("deal_id", "entered_at", "pipeline_id", "stage_id"),
            references=(
                (("deal_id",), "deals", ("deal_id",)),
                (("pipeline_id", "stage_id"), "stages", ("pipeline_id", "stage_id")),
            ),
        ),
        Table(
            "activities",
            (
                _c("activity_id", required=True),
                _c("deal_id"),
                _c("owner_id"),
                _c("kind", "enum", True, ACTIVITY_KINDS),
                _c("direction", "enum", False, ("in", "out")),
                _c("status", "enum", False, ("done", "missed", "planned")),
                _c("started_at", "timestamp"),
                _c("due_at", "timestamp"),
                Column("duration_s", "int", minimum=0),
                _c("amount", "decimal"),
            ),
            key=("activity_id",),
            references=((("deal_id",), "deals", ("deal_id",)), (("owner_id",), "users", ("user_id",))),
        ),
        Table(
            "currency_rates",
            (
                _c("currency", required=True),
                _c("valid_from", "date"),
                _c("rate", "float", True),
                _c("reporting_currency", required=True),
            ),
            key=("currency", "valid_from"),
        ),
        Table(
            "plans",
            (
                _c("owner_id"),
                _c("period_start", "date", True),
                _c("period_end", "date", True),
                _c("metric", "enum", True, ("revenue", "won_deals")),
                _c("target", "decimal", True),
            ),
            key=("owner_id", "period_start", "metric"),
            references=((("owner_id",), "users", ("user_id",)),),
        ),
    )
}

# Load order: a table is loaded after the tables it references.
LOAD_ORDER = (
    "pipelines", "stages", "users", "deals", "stage_changes", "activities", "plans", "currency_rates"
)  # fmt: skip
