"""Amendments and photos of signed records: written on the record page, read here."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sessions_app.models import SessionAmendment, SessionPhoto

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
