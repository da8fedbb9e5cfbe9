"""Cross-cutting rules for every page: signing out an idle session, the second
sign-in factor, and no caching of pages that show health data."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode

# Set at sign-in (views.accounts) when this session must pass a second factor:
# "verify" for a user with an authenticator, "setup" for one who must add one.
TWO_FACTOR_PENDING = "two_factor_pending"
# Pages a half-signed-in user may still open.
TWO_FACTOR_OPEN = {"logout", "two_factor_verify", "two_factor_setup"}


# When the session's user last made a request (seconds since the epoch).
LAST_ACTIVE = "last_active"
# The session is written at most this often just to renew it.
RENEW_EVERY_SECONDS = 60


def mark_active(session) -> None:
    session[LAST_ACTIVE] = int(time.time())


def on_sign_in(sender, request, user, **kwargs):
    """user_logged_in receiver: a new session starts active (every way of signing in)."""
    mark_active(request.session)


class IdleTimeoutMiddleware:
    """Signs out a session with no request for CLINIC_SESSION_IDLE_MINUTES: a
    tablet left in the treatment room does not stay open on a client's record.
    Renews the session at most once a minute, so most requests write nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            idle = time.time() - request.session.get(LAST_ACTIVE, 0)
            if idle > settings.CLINIC_SESSION_IDLE_MINUTES * 60:
                logout(request)
                minutes = settings.CLINIC_SESSION_IDLE_MINUTES
                messages.info(request, f"You were signed out after {minutes} minutes without activity.")
                return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")
            if idle > RENEW_EVERY_SECONDS:
                mark_active(request.session)
        return self.get_response(request)


class TwoFactorMiddleware:
    """Until the second factor is given, every page leads to it. Costs no query:
    the sign-in decided, and wrote its decision into the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        pending = request.session.get(TWO_FACTOR_PENDING) if hasattr(request, "session") else None
        if not pending or not request.user.is_authenticated:
            return None
        if request.user.is_verified():
            del request.session[TWO_FACTOR_PENDING]
            return None
        if request.resolver_match and request.resolver_match.url_name in TWO_FACTOR_OPEN:
            return None
        target = reverse("two_factor_verify" if pending == "verify" else "two_factor_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")


class NoStoreMiddleware:
    """Pages for signed-in staff hold health data: no browser or proxy keeps a
    copy (the back button after signing out shows nothing)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
