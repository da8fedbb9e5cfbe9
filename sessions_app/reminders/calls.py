"""Reception's call list: the call tasks due today, and recording a call's
outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from sessions_app.models import (
    CallOutcome,
    Indication,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    SideEffectKind,
    User,
)
from sessions_app.models.expressions import attach_related

# Calls on one page of the list, the oldest first; the heading says how many there are.
CALL_LIST_PAGE_SIZE = 25


# Severe side effects a client reported at a check-in: above the list, on every page.
URGENT_MAX = 50


@dataclass
class CallList:
    urgent: list[Reminder] = field(default_factory=list)
    aftercare: list[Reminder] = field(default_factory=list)
    maintenance: list[Reminder] = field(default_factory=list)
    side_effects: list[Reminder] = field(default_factory=list)
    other: list[Reminder] = field(default_factory=list)
    page: Page | None = None
    # Each group's calls on every page: the list is paged in due order across
    # the groups, so a group may have none on this page and some on another.
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.page.paginator.count if self.page else 0

    @property
    def shown(self) -> int:
        return len(self.aftercare) + len(self.maintenance) + len(self.side_effects) + len(self.other)


def end_of_today(now: dt.datetime) -> dt.datetime:
    """Midnight at the end of the clinic's day."""
    tomorrow = timezone.localtime(now).date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))


def call_list(*, now: dt.datetime, page: str | int | None = None) -> CallList:
    """Open call tasks due by the end of today (so also those left from
    earlier days), a page at a time, the oldest first, in four groups:
    aftercare calls, overdue maintenance recalls, side effects past their
    expected time, and the rest (clients reached by phone instead of a
    message), with each group's count on every page. Above them on every
    page, the severe side effects clients reported at a check-in, the newest
    first. Three queries, whatever the number of calls."""
    calls = Reminder.objects.open_calls()
    urgent = calls.filter(kind=ReminderKind.SIDE_EFFECT_URGENT)
    due = calls.filter(due_at__lt=end_of_today(now)).exclude(kind=ReminderKind.SIDE_EFFECT_URGENT)
    # A maintenance recall is on the list once overdue, not earlier in the day.
    due = due.exclude(kind=ReminderKind.MAINTENANCE_DUE, due_at__gt=now)
    totals = due.aggregate(
        aftercare=Count("pk", filter=Q(kind=ReminderKind.AFTERCARE_CHECK)),
        maintenance=Count("pk", filter=Q(kind=ReminderKind.MAINTENANCE_DUE)),
        side_effects=Count("pk", filter=Q(kind=ReminderKind.SIDE_EFFECT_UNRESOLVED)),
        all=Count("pk"),
    )
    paginator = Paginator(due.for_call_list().order_by("due_at", "pk"), CALL_LIST_PAGE_SIZE)
    paginator.count = totals["all"]  # counted just above: no second COUNT
    result = CallList(page=paginator.get_page(page))
    result.urgent = list(urgent.for_call_list().order_by("-due_at", "-pk")[:URGENT_MAX])
    result.totals = {
        "aftercare": totals["aftercare"],
        "maintenance": totals["maintenance"],
        "side_effects": totals["side_effects"],
        "other": totals["all"] - totals["aftercare"] - totals["maintenance"] - totals["side_effects"],
    }
    shown = [*result.urgent, *result.page.object_list]
    # Each a query of its own: joined to the calls, they made the query slow to plan.
    attach_related(shown, User.objects.all(), "session.practitioner", "plan.practitioner", "handled_by")
    attach_related(shown, Indication.objects.all(), "plan.indication")
    attach_related(shown, SideEffectKind.objects.all(), "side_effect.kind")
    for reminder in result.page.object_list:
        group = {
            ReminderKind.AFTERCARE_CHECK: result.aftercare,
            ReminderKind.MAINTENANCE_DUE: result.maintenance,
            ReminderKind.SIDE_EFFECT_UNRESOLVED: result.side_effects,
        }.get(reminder.kind, result.other)
        group.append(reminder)
    return result


class CallClosed(Exception):
    """The call was already recorded (by someone else, a moment ago)."""


@transaction.atomic
def reminder_record_call(
    *, reminder_id: int, outcome: CallOutcome | str, user: User, now: dt.datetime | None = None
) -> Reminder:
    """Record how a call went. "No answer" keeps the call on the list (until
    CLINIC_REMINDER_MAX_ATTEMPTS unanswered calls); any other outcome closes it."""
    outcome = CallOutcome(outcome)
    now = now or timezone.now()
    reminder = Reminder.objects.select_for_update().get(pk=reminder_id, channel=ReminderChannel.CALL)
    if reminder.status != ReminderStatus.PENDING:
        who = f" by {reminder.handled_by}" if reminder.handled_by_id else ""
        raise CallClosed(f"This call was already closed{who}: {reminder.get_call_outcome_display() or 'cancelled'}.")
    reminder.call_outcome, reminder.handled_by, reminder.handled_at = outcome, user, now
    reminder.attempts += 1
    if outcome != CallOutcome.NO_ANSWER:
        reminder.status, reminder.sent_at, reminder.last_error = ReminderStatus.SENT, now, ""
    elif reminder.attempts >= settings.CLINIC_REMINDER_MAX_ATTEMPTS:
        reminder.status, reminder.last_error = ReminderStatus.FAILED, f"No answer after {reminder.attempts} calls."
    reminder.save(
        update_fields=["call_outcome", "handled_by", "handled_at", "attempts", "status", "sent_at", "last_error"]
    )
    return reminder
