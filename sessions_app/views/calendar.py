from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from sessions_app.calendar_feed import build_feed, feed_sessions
from sessions_app.models import User


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
