from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app.calendar_feed import build_feed, calendar_token_revoke, calendar_token_rotate, feed_sessions
from sessions_app.models import Role, User


@login_not_required
@require_GET
def practitioner_feed(request, token: str):
    """The iCalendar feed at its secret URL: no sign-in, the token is the key.
    An unknown or revoked token is a 404, the same as a URL that never existed."""
    if not token:
        raise Http404
    try:
        practitioner = User.objects.get(calendar_token=token, is_active=True)
    except User.DoesNotExist:
        raise Http404 from None
    response = HttpResponse(build_feed(practitioner, feed_sessions(practitioner)), content_type="text/calendar")
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def calendar_settings(request):
    """A practitioner's own feed: its secret URL, a new URL (which retires the
    old one at once), or no URL at all."""
    user = request.user
    if not user.has_role(Role.PRACTITIONER):
        raise PermissionDenied
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate":
            calendar_token_rotate(user=user)
            messages.success(request, "Your calendar has a new address; the old one no longer works.")
        elif action == "revoke":
            calendar_token_revoke(user=user)
            messages.success(request, "Your calendar feed is switched off.")
        return redirect("calendar_settings")
    feed_url = None
    if user.calendar_token:
        feed_url = request.build_absolute_uri(reverse("practitioner_feed", args=[user.calendar_token]))
    return render(request, "calendar/settings.html", {"feed_url": feed_url})
