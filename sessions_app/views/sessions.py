"""One session: its page (or the calendar's panel), its status actions with
their confirmation, and the undo of a status change.

Which actions a session offers, when, and who may undo a change are the rules
of `SessionStatus`; the changes are made by `services.session_status`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.models import Cancellation, SessionStatus, TreatmentSession
from sessions_app.services import series, session_status
from sessions_app.services.clearance import annotate_clearance
from sessions_app.services.session_status import InvalidTransition
from sessions_app.views.booking import _safe_next

# The history rows a session page lists: its latest changes of status.
HISTORY_SHOWN = 20


def wants_fragment(request) -> bool:
    """Whether htmx asked for the page's panel only (the calendar's session panel)."""
    return request.headers.get("HX-Request") == "true"


def _session(pk: int) -> TreatmentSession:
    return get_object_or_404(
        TreatmentSession.objects.for_schedule().select_related("status_changed_by", "plan__indication"), pk=pk
    )


def status_history(session: TreatmentSession) -> list[dict]:
    """The session's changes of status, newest first, from its history (who,
    when, from what to what, and the reason an undo gives): one query."""
    rows = list(
        session.history.order_by("history_date", "history_id").values(
            "status",
            "cancellation",
            "history_date",
            "history_change_reason",
            "history_user__first_name",
            "history_user__last_name",
            "history_user__username",
        )
    )
    changes, before = [], None
    for row in rows:
        if before is not None and row["status"] != before:
            who = " ".join(filter(None, (row["history_user__first_name"], row["history_user__last_name"])))
            changes.append(
                {
                    "at": row["history_date"],
                    "before": SessionStatus(before).label,
                    "after": SessionStatus(row["status"]).label,
                    "cancellation": Cancellation(row["cancellation"]).label if row["cancellation"] else "",
                    "by": who or row["history_user__username"] or "",
                    "reason": row["history_change_reason"] or "",
                }
            )
        before = row["status"]
    return changes[::-1][:HISTORY_SHOWN]


@permission_required("sessions_app.view_treatmentsession", raise_exception=True)
@require_http_methods(["GET"])
def session_detail(request, pk: int):
    """A session with everything reception or a practitioner does with it:
    its status actions as SessionStatus allows them now, the undo of the last
    change, Move, Record (or why not yet), and its changes of status. The
    calendar opens it as a panel."""
    session = _session(pk)
    annotate_clearance([session])
    context = {
        "session": session,
        "next": _safe_next(request, reverse("schedule") + f"?date={timezone.localtime(session.starts_at):%Y-%m-%d}"),
        "history": status_history(session),
        "undo_refusal": session.undo_refusal(request.user),
        # Why the actions its status allows are not offered now (arrived on another
        # day, no-show before it begins): said, so nobody wonders where they went.
        "not_now": [
            refusal
            for action, transition in SessionStatus.TRANSITIONS.items()
            if session.status in transition.sources
            and action not in session.offered_actions
            and (refusal := _refusal(session, action))
        ],
        "can_change": request.user.has_perm("sessions_app.change_treatmentsession"),
    }
    if wants_fragment(request):
        return render(request, "sessions/_panel.html", context)
    return render(request, "sessions/detail.html", context)


@permission_required("sessions_app.change_treatmentsession", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_action(request, pk: int, action: str):
    """Confirm or mark arrived at once (they can be undone); no-show and cancel
    first ask, on a page of their own (GET), cancel also who cancelled."""
    session = _session(pk)
    back = _safe_next(request, reverse("session_detail", args=[session.pk]))
    confirm_first = action in SessionStatus.CONFIRM_FIRST
    context = {"session": session, "action": action, "next": back, "cancellations": Cancellation.choices}
    if request.method == "GET" or (confirm_first and request.POST.get("confirmed") != "yes"):
        if not confirm_first:
            return redirect(reverse("session_detail", args=[session.pk]) + "?" + urlencode({"next": back}))
        context["refusal"] = _refusal(session, action)
        template = "sessions/_confirm.html" if wants_fragment(request) else "sessions/confirm.html"
        return render(request, template, context)
    cancellation = request.POST.get("cancellation", "")
    if action == "cancel" and cancellation not in Cancellation.values:
        context["cancellation_error"] = "Say who cancelled the session."
        return render(request, "sessions/confirm.html", context, status=200)
    try:
        session_status.session_set_status(
            session_id=session.pk, action=action, by=request.user, cancellation=cancellation
        )
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return redirect(back)
    session.refresh_from_db()
    session.plan.refresh_from_db(fields=["status"])
    when = timezone.localtime(session.starts_at)
    text = f"{session.plan.client.full_name}, {when:%d/%m %H:%M}: {session.get_status_display().lower()}"
    if session.cancellation:
        text += f" ({session.get_cancellation_display().lower()})"
    text += "."
    # The message carries the undo button (base.html reads the tag).
    undo = f"undo:{session.pk}"
    if session.status in SessionStatus.NOT_KEPT and series.series_shortfall(session.plan):
        messages.warning(request, text + " The series is now one session short.", extra_tags=undo)
        return redirect(reverse("plan_rebook", args=[session.plan_id]) + "?" + urlencode({"next": back}))
    messages.success(request, text, extra_tags=undo)
    return redirect(back)


def _refusal(session: TreatmentSession, action: str) -> str | None:
    target = SessionStatus.TRANSITIONS[action].target
    return SessionStatus.refusal(session.status, target, starts_at=session.starts_at, now=timezone.now())


@permission_required("sessions_app.change_treatmentsession", raise_exception=True)
@require_POST
def session_undo(request, pk: int):
    session = get_object_or_404(TreatmentSession.objects.select_related("plan__client"), pk=pk)
    back = _safe_next(request, reverse("session_detail", args=[session.pk]))
    try:
        session = session_status.session_status_undo(session_id=session.pk, by=request.user)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request, f"Undone: {session.plan.client.full_name}'s session is {session.get_status_display().lower()} again."
    )
    return redirect(back)
