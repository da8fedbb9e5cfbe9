"""The client's check-in page after a session, opened from the personal link
of a check-in message: no sign-in (the signed link is the credential), a page
made for a phone, nothing on it but the first name and the session's date.
Rate-limited by address, and each link by the answers sent to it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.models import ReminderChannel
from sessions_app.ratelimit import allow
from sessions_app.reminders.unsubscribe import client_unsubscribe
from sessions_app.services.audit import client_ip
from sessions_app.services.check_ins import CheckInUnavailable, check_in_answer, check_in_open, check_in_reminder
from sessions_app.side_effect_forms import CheckInForm

WINDOW_SECONDS = 600


def _limited(request, token: str) -> bool:
    """Over the limit for this address (every request) or this link (answers)."""
    limit = settings.CLINIC_CHECK_IN_RATE_LIMIT
    if not allow(f"check-in:ip:{client_ip(request)}", limit=limit, window_seconds=WINDOW_SECONDS):
        return True
    if request.method == "POST":
        return not allow(f"check-in:link:{token[-10:]}", limit=max(1, limit // 3), window_seconds=WINDOW_SECONDS)
    return False


def _closed(request, reason: str, status: int):
    return render(request, "check_in/closed.html", {"reason": reason}, status=status)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def check_in(request, token: str):
    if _limited(request, token):
        response = _closed(request, "limited", 429)
        response["Retry-After"] = str(WINDOW_SECONDS)
        return response
    try:
        page = check_in_open(token)
    except CheckInUnavailable as exc:
        return _closed(
            request, exc.reason, 200 if exc.reason == "answered" else 404 if exc.reason == "invalid" else 410
        )
    form = CheckInForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            answered = check_in_answer(
                reminder_id=page.reminder_id,
                answer=data["answer"],
                score=data.get("score"),
                note=data.get("note", ""),
                photo=data.get("photo"),
            )
        except CheckInUnavailable as exc:
            return _closed(request, exc.reason, 200)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return render(request, "check_in/thanks.html", {"check_in": answered, "page": page})
    return render(request, "check_in/form.html", {"form": form, "page": page, "token": token})


@login_not_required
@never_cache
@require_POST
def check_in_stop(request, token: str):
    """Stop messages by the channel this check-in came by, as the stop link of
    a reminder does (client_unsubscribe): whether the check-in was answered
    or its time is over, like a stop link, it works."""
    if _limited(request, token):
        return _closed(request, "limited", 429)
    try:
        reminder = check_in_reminder(token)
    except CheckInUnavailable:
        return _closed(request, "invalid", 404)
    channel = ReminderChannel.EMAIL if reminder.channel == ReminderChannel.EMAIL else ReminderChannel.SMS
    client_unsubscribe(client_id=reminder.client_id, channel=channel)
    label = "email" if channel == ReminderChannel.EMAIL else "SMS"
    return render(request, "check_in/closed.html", {"reason": "stopped", "label": label})
