"""The access log, read by managers; nobody writes to it from here."""

from axes import admin as axes_admin
from axes import models as axes_models
from django.contrib import admin

from sessions_app.models import AccessLog

from .base import DateDrillDownMixin
from .clients import CLIENT_SEARCH
from .records import ReadOnlyAdmin


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "action", "client", "detail", "ip_address"]
    list_select_related = ["user", "client"]
    search_fields = ["user__username", "user__last_name", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["action", ("user", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "at"
    fields = ["at", "user", "action", "client", "detail", "path", "ip_address"]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The client page links here filtered to one client (and the records
        # merged into it); the client list is too long for a sidebar filter.
        return lookup in ("client", "client__id__exact", "client__id__in") or super().lookup_allowed(
            lookup, value, request
        )


# django-axes' sign-in records (registered by axes, which comes first in
# INSTALLED_APPS): the same drill-down guard as every other dated list.
for _model, _model_admin in (
    (axes_models.AccessAttempt, axes_admin.AccessAttemptAdmin),
    (axes_models.AccessLog, axes_admin.AccessLogAdmin),
    (axes_models.AccessFailureLog, axes_admin.AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, type(_model_admin.__name__, (DateDrillDownMixin, _model_admin), {}))
