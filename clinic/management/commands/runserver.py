"""Django's development server (WhiteNoise serving the static files, as in
production), refusing at once, in one message, settings it cannot serve with.

Django's own runserver says only "You must set settings.ALLOWED_HOSTS if DEBUG
is False"; with hosts set, wsgi.py's refusal was raised in the server's thread,
printed as a traceback, and the process went on waiting. Checked here, in the
command itself before the autoreloader starts, it is a plain error and exit 1.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from whitenoise.runserver_nostatic.management.commands.runserver import Command as WhiteNoiseRunserver

from clinic.startup import require_production_settings


class Command(WhiteNoiseRunserver):
    def handle(self, *args, **options):
        try:
            require_production_settings("Serving the app", needs_hosts=True)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        return super().handle(*args, **options)
