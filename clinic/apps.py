"""Two libraries' apps under the clinic's names in the Django admin: django-axes'
sign-in records are "Sign-in lockouts" (not "AXES"), django-otp's TOTP devices
"Authenticators" (not "OTP_TOTP"). In INSTALLED_APPS in their place.

Their models' names are set when the app is ready. Only the names shown
change: migrations read a model's options as its Meta declares them
(Options.original_attrs), so nothing here asks for a migration of theirs.
"""

from axes.apps import AppConfig as AxesAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpAppConfig


def _rename(app_config, names: dict[str, tuple[str, str]]) -> None:
    for model_name, (singular, plural) in names.items():
        meta = app_config.get_model(model_name)._meta
        meta.verbose_name, meta.verbose_name_plural = singular, plural


class SignInLockoutsConfig(AxesAppConfig):
    default = False  # chosen by its dotted path in INSTALLED_APPS, not as the "clinic" app's
    verbose_name = "Sign-in lockouts"

    def ready(self):
        super().ready()
        _rename(
            self,
            {
                # Delete one to unlock the account (the staff page's "Unlock" does it).
                "AccessAttempt": ("lockout", "lockouts and failure counts"),
                "AccessFailureLog": ("failed sign-in", "failed sign-ins"),
                # Not the clinic's access log (who read a client's record): who signed in.
                "AccessLog": ("sign-in", "sign-ins"),
                "AccessAttemptExpiration": ("lockout end", "lockout ends"),
            },
        )


class AuthenticatorsConfig(TotpAppConfig):
    default = False
    verbose_name = "Authenticators"

    def ready(self):
        super().ready()
        _rename(self, {"TOTPDevice": ("authenticator app", "authenticator apps")})
