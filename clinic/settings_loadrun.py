"""Settings for the load run (scripts/loadrun): the production settings
(DEBUG off, the manifest of collected static files), served by gunicorn over
plain HTTP on loopback, so the session and CSRF cookies are not marked Secure
(the load generator would not send them back over HTTP). Never for a server
anyone else reaches."""

from clinic.settings import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
