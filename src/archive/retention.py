"""Retention: when a closed case falls due for disposal (Aussonderung).

The period is counted as the e-Akte counts it (see `casefile.service`): it runs for the unit's
years after the end of the calendar year in which the file was closed (zdA), so it ends on
31 December. Counting from the closing day instead would let the archive take a file that the
case file still allows a clerk to reopen. Unlimited retention never falls due.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from archive.sources import ClosedCase, Retention

LOCAL_TIME = ZoneInfo("Europe/Berlin")


def closing_year(closed_at: datetime) -> int:
    return closed_at.astimezone(LOCAL_TIME).year


def retention_end(closed_at: datetime, retention: Retention) -> date | None:
    """The last day of the retention period; None for unlimited retention."""
    if retention.years is None:
        return None
    return date(closing_year(closed_at) + retention.years, 12, 31)


def is_due(case: ClosedCase, as_of: date) -> bool:
    end = retention_end(case.closed_at, case.unit.retention)
    return end is not None and end < as_of


def due_cases(cases: list[ClosedCase], as_of: date) -> list[ClosedCase]:
    """The cases whose retention has run out before `as_of`, oldest first."""
    due = [case for case in cases if is_due(case, as_of)]
    return sorted(due, key=lambda case: (case.closed_at, case.aktenzeichen))
