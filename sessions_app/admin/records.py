"""What the record page writes, read here: amendments, photos, quantities per
product, dose-ceiling decisions and the drafts of records not yet signed."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sessions_app.models import CeilingDecision, InjectionQuantity, RecordDraft, SessionAmendment, SessionPhoto

from .base import BigTableAdmin, LogReadsMixin, ReadOnlyMixin
from .clients import CLIENT_SEARCH


class ReadOnlyAdmin(ReadOnlyMixin, BigTableAdmin):
    """Clinical history: nobody adds, changes or deletes it from the admin."""

    # The newest first, from the primary key: the models' order goes through the
    # session's (its date), which sorted every row.
    ordering = ["-pk"]


@admin.register(SessionAmendment)
class SessionAmendmentAdmin(LogReadsMixin, ReadOnlyAdmin):
    client_field = "session__plan__client_id"
    list_display = ["amended_at", "session", "amended_by", "reason"]
    list_select_related = ["session__plan__client", "amended_by"]
    search_fields = ["reason", *(f"session__plan__client__{f}" for f in CLIENT_SEARCH)]
    list_filter = [("amended_by", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "amended_at"
    fields = ["session", "amended_by", "amended_at", "reason", "what_changed"]
    readonly_fields = fields

    @admin.display(description="what changed")
    def what_changed(self, obj: SessionAmendment) -> str:
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((c,) for c in obj.changes)))


@admin.register(SessionPhoto)
class SessionPhotoAdmin(LogReadsMixin, ReadOnlyAdmin):
    client_field = "session__plan__client_id"
    list_display = ["uploaded_at", "session", "kind", "uploaded_by", "view"]
    list_select_related = ["session__plan__client", "uploaded_by"]
    search_fields = [f"session__plan__client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["kind"]
    date_hierarchy = "uploaded_at"
    fields = ["session", "kind", "uploaded_by", "uploaded_at", "width", "height", "view"]
    readonly_fields = fields

    @admin.display(description="photo")
    def view(self, obj: SessionPhoto) -> str:
        # Streamed by the permission-checking view; MEDIA_ROOT has no public URL.
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">open</a>', reverse("session_photo", args=[obj.pk])
        )


@admin.register(InjectionQuantity)
class InjectionQuantityAdmin(LogReadsMixin, ReadOnlyAdmin):
    client_field = "injection__session__plan__client_id"
    list_display = ["injection", "product", "quantity_ml"]
    list_select_related = ["injection__area", "product"]
    search_fields = [f"injection__session__plan__client__{f}" for f in CLIENT_SEARCH]


@admin.register(CeilingDecision)
class CeilingDecisionAdmin(LogReadsMixin, ReadOnlyAdmin):
    client_field = "session__plan__client_id"
    list_display = ["decided_at", "session", "substance", "period", "total", "ceiling", "decided_by"]
    list_select_related = ["session__plan__client", "substance", "decided_by"]
    search_fields = ["decision", *(f"session__plan__client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["period", "substance"]
    date_hierarchy = "decided_at"


@admin.register(RecordDraft)
class RecordDraftAdmin(LogReadsMixin, ReadOnlyAdmin):
    """A record being written: the record page keeps and signs it."""

    client_field = "session__plan__client_id"
    list_display = ["saved_at", "session", "saved_by"]
    list_select_related = ["session__plan__client", "saved_by"]
    search_fields = [f"session__plan__client__{f}" for f in CLIENT_SEARCH]
    date_hierarchy = "saved_at"
