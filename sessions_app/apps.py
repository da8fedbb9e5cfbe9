from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sessions_app"
    verbose_name = "Mesoclinic"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks

        from clinic.startup import check_production_settings, check_shared_cache
        from sessions_app import lookups
        from sessions_app.middleware import on_sign_in

        lookups.register()
        checks.register(check_production_settings, checks.Tags.security, deploy=True)
        checks.register(check_shared_cache, checks.Tags.security, deploy=True)
        # Session bookkeeping for the idle sign-out, whatever way the user signed in.
        user_logged_in.connect(on_sign_in, dispatch_uid="sessions_app.mark_active")
        # Signing in writes last_login without a row in the staff history,
        # which keeps the changes made to an account (axes logs sign-ins).
        from django.contrib.auth.models import update_last_login

        from sessions_app.services.staff import record_last_login

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(record_last_login, dispatch_uid="sessions_app.last_login")
