"""
WSGI config for clinic project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/6.1/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

application = get_wsgi_application()

from clinic.startup import require_production_settings  # noqa: E402 (needs the settings loaded)

require_production_settings("Serving the app")

# The loaded app's hundred thousand objects live as long as the process: out of
# the cyclic garbage collector's full scans, which otherwise walk them all a few
# times a minute in the middle of requests (a tenth off the p95 in `manage.py bench`).
gc.collect()
gc.freeze()
