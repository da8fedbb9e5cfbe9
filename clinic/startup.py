"""What production needs before it serves a page or sends a message.

Settings note what is missing (CLINIC_UNSET_FOR_PRODUCTION) instead of failing
on import, so that commands which neither serve nor send (migrate,
makemigrations, check) still run; these refuse instead: wsgi.py, asgi.py,
runserver (clinic/management/commands/runserver.py) and send_reminders call
`require_production_settings`, and `check --deploy` reports the same list.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Django's runserver refuses to start without it when DEBUG is off: said here,
# with the rest, instead of Django's bare "You must set settings.ALLOWED_HOSTS".
ALLOWED_HOSTS_UNSET = (
    "DJANGO_ALLOWED_HOSTS is not set: the host names the app is reached at, comma-separated (clinic.example.org)."
)


def require_production_settings(what: str, *, needs_hosts: bool = False) -> None:
    """ImproperlyConfigured, naming everything missing, when production
    settings lack what `what` needs; `needs_hosts` adds ALLOWED_HOSTS (runserver)."""
    missing = list(settings.CLINIC_UNSET_FOR_PRODUCTION)
    if needs_hosts and not settings.DEBUG and not settings.ALLOWED_HOSTS:
        missing.append(ALLOWED_HOSTS_UNSET)
    if missing:
        raise ImproperlyConfigured(f"{what} refused:\n" + "\n".join(f"- {problem}" for problem in missing))


def check_production_settings(app_configs, **kwargs):
    """A deployment check (sessions_app.apps registers it): one error per missing setting."""
    return [
        checks.Error(message, id=f"clinic.E{number:03d}")
        for number, message in enumerate(settings.CLINIC_UNSET_FOR_PRODUCTION, start=1)
    ]


def check_shared_cache(app_configs, **kwargs):
    """A deployment check: the check-in pages' rate limit counts in the cache,
    which in each process's memory lets every process count on its own."""
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        return [
            checks.Warning(
                "CLINIC_CACHE_URL is not set: the check-in pages' rate limit counts requests in each process's "
                "memory, so several processes allow that many each.",
                hint="Set CLINIC_CACHE_URL=redis://host:6379/0, a Redis all the app's processes share.",
                id="clinic.W001",
            )
        ]
    return []
