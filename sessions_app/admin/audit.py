"""The access log, read by managers; nobody writes to it from here."""

from django.contrib import admin

from sessions_app.models import AccessLog

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
        # The client page links here filtered to one client; the client list is
        # too long for a sidebar filter.
        return lookup in ("client", "client__id__exact") or super().lookup_allowed(lookup, value, request)
