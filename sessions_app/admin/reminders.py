from django.contrib import admin

from sessions_app.models import Reminder

from .base import BigTableAdmin, StrRelationsMixin
from .clients import CLIENT_SEARCH


@admin.register(Reminder)
class ReminderAdmin(StrRelationsMixin, BigTableAdmin):
    """Read-mostly: the generator creates reminders and the send loop owns
    their delivery state; a manager may move one or change its channel."""

    list_display = ["due_at", "kind", "channel", "client", "status", "attempts", "sent_at"]
    list_select_related = ["client"]
    search_fields = ["key", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["status", "kind", "channel"]
    date_hierarchy = "due_at"
    autocomplete_fields = ["client", "plan", "session"]
    readonly_fields = ["status", "attempts", "claimed_at", "sent_at", "last_error", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The key is what the generator deduplicates on; it is set once.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields
