"""What production needs before it serves a page or sends a message.

Settings note what is missing (CLINIC_UNSET_FOR_PRODUCTION) instead of failing
on import, so that commands which neither serve nor send (migrate,
makemigrations, check) still run; these refuse instead: wsgi.py, asgi.py and
send_reminders call `require_production_settings`, and `check --deploy`
reports the same list.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def require_production_settings(what: str) -> None:
    """ImproperlyConfigured, naming everything missing, when production
    settings lack what `what` needs."""
    missing = settings.CLINIC_UNSET_FOR_PRODUCTION
    if missing:
        raise ImproperlyConfigured(f"{what} refused. " + " ".join(missing))


def check_production_settings(app_configs, **kwargs):
    """A deployment check (sessions_app.apps registers it): one error per missing setting."""
    return [
        checks.Error(message, id=f"clinic.E{number:03d}")
        for number, message in enumerate(settings.CLINIC_UNSET_FOR_PRODUCTION, start=1)
    ]
