"""The bench's floor page: what every page pays before its own work."""

from django.shortcuts import render


def floor(request):
    """Nothing but what every page goes through: the middleware, the session,
    the sign-in (the middleware's: login required), the context processors and
    the base template with its menu. The bench times it beside the pages, as a
    measure of the machine and the framework, and says each page's p50 as a
    multiple of it."""
    return render(request, "devtools/floor.html")
