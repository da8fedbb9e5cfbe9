from django import forms
from django.contrib import admin

from sessions_app.models import Reminder, ReminderRule
from sessions_app.reminders.messages import PLACEHOLDERS

from .base import BigTableAdmin, LogReadsMixin, StrRelationsMixin
from .clients import CLIENT_SEARCH


class ReminderRuleForm(forms.ModelForm):
    """The model's clean() refuses an unknown placeholder, beside the field."""

    class Meta:
        model = ReminderRule
        fields = [
            "name",
            "kind",
            "active",
            "amount",
            "unit",
            "direction",
            "send_time",
            "by_email",
            "by_sms",
            "by_call",
            "subject",
            "body",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    """Reference data: when and how the clinic reminds. A rule that has
    reminders cannot be deleted (they keep their history): switch it off."""

    form = ReminderRuleForm
    list_display = ["name", "kind", "timing", "channels", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "active"]}),
        ("When", {"fields": [("amount", "unit", "direction"), "send_time"]}),
        ("How", {"fields": [("by_email", "by_sms", "by_call")]}),
        (
            "What it says",
            {
                "fields": ["subject", "body"],
                "description": "Placeholders: "
                + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items()),
            },
        ),
    ]

    @admin.display(description="when")
    def timing(self, rule: ReminderRule) -> str:
        return rule.describe()

    @admin.display(description="channels")
    def channels(self, rule: ReminderRule) -> str:
        names = [name for on, name in ((rule.by_email, "email"), (rule.by_sms, "SMS"), (rule.by_call, "call")) if on]
        return ", ".join(names)


@admin.register(Reminder)
class ReminderAdmin(LogReadsMixin, StrRelationsMixin, BigTableAdmin):
    """Read-mostly: the generator creates reminders and the send loop owns
    their delivery state; a manager may move one or change its channel."""

    client_field = "client_id"

    list_display = ["due_at", "kind", "channel", "client", "status", "attempts", "sent_at"]
    list_select_related = ["client"]
    search_fields = ["key", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["status", "kind", "channel"]
    date_hierarchy = "due_at"
    autocomplete_fields = ["client", "plan", "session", "screening"]
    readonly_fields = [
        "status",
        "attempts",
        "claimed_at",
        "sent_at",
        "next_attempt_at",
        "last_error",
        "message",
        "call_outcome",
        "handled_by",
        "handled_at",
        "created_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        # The key is what the generator deduplicates on; it is set once.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields
