"""A practitioner's sessions as an iCalendar feed.

The feed sits at a secret URL that calendar apps poll without signing in, and
they often copy it to a cloud service: so an event names the client by first
name and initial only, and says nothing of indication, mixture or health.
"""

import datetime as dt
import secrets

import icalendar
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sessions_app.calendar_zone import vtimezone
from sessions_app.models import SessionStatus, TreatmentSession, User
from sessions_app.scheduling import clinic_tz

# What the feed shows: recent history and the year ahead.
FEED_PAST = dt.timedelta(days=30)
FEED_FUTURE = dt.timedelta(days=365)
# An event's STATUS (RFC 5545): only a session the client confirmed, attended or
# completed is CONFIRMED; a no-show stays in the feed, marked as not happening.
EVENT_STATUS = {SessionStatus.BOOKED: "TENTATIVE", SessionStatus.NO_SHOW: "CANCELLED"}


@transaction.atomic
def calendar_token_rotate(*, user: User) -> str:
    """A new secret for the user's feed; the old URL stops working at once."""
    user.calendar_token = secrets.token_urlsafe(32)
    user.save(update_fields=["calendar_token"])
    return user.calendar_token


@transaction.atomic
def calendar_token_revoke(*, user: User) -> None:
    user.calendar_token = None
    user.save(update_fields=["calendar_token"])


def feed_sessions(practitioner: User):
    now = timezone.now()
    return (
        TreatmentSession.objects.filter(
            practitioner=practitioner, starts_at__gte=now - FEED_PAST, starts_at__lte=now + FEED_FUTURE
        )
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("plan__client", "room")
        .with_series_position()
        .order_by("starts_at")
    )


def build_feed(practitioner: User, sessions) -> bytes:
    tz = clinic_tz()
    cal = icalendar.Calendar.new(
        name=f"{settings.CLINIC_NAME}: {practitioner}", prodid=f"-//{settings.CLINIC_NAME}//Mesoclinic//EN"
    )
    moments = []
    for session in sessions:
        moments += [session.starts_at, session.ends_at]
        client = session.plan.client
        label = f"{client.first_name} {client.last_name[:1]}."
        summary = f"{label} – {session.series_title}"
        if session.status == SessionStatus.NO_SHOW:
            summary += " (no-show)"
        event = icalendar.Event.new(
            uid=f"session-{session.pk}@{settings.CLINIC_NAME.lower().replace(' ', '-')}",
            summary=summary,
            start=session.starts_at.astimezone(tz),
            end=session.ends_at.astimezone(tz),
            stamp=session.updated_at,
            location=session.room.name,
        )
        event.add("status", EVENT_STATUS.get(session.status, "CONFIRMED"))
        cal.add_component(event)
    if moments:
        # Rules with RRULE, not icalendar's RDATE lists, which vobject and others misread.
        cal.add_component(vtimezone(tz, moments))
    return cal.to_ical()
