from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from sessions_app.models import Reminder, ReminderRule
from sessions_app.reminders.delivery import sms_sample
from sessions_app.reminders.messages import PLACEHOLDERS, TemplateError

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
            "sms_body",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 6}), "sms_body": forms.Textarea(attrs={"rows": 3})}


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
                "fields": ["subject", "body", "sms_body", "sms_as_sent"],
                "description": "Placeholders: "
                + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items()),
            },
        ),
    ]

    readonly_fields = ["sms_as_sent"]

    @admin.display(description="SMS, as a client gets it")
    def sms_as_sent(self, rule: ReminderRule) -> str:
        """The saved SMS text filled in with sample values, with its length and parts."""
        if not rule.pk or not rule.by_sms:
            return "Shown here once the rule is saved with SMS ticked."
        try:
            text, length = sms_sample(rule.sms_template, rule.kind)
        except TemplateError as exc:
            return str(exc)
        return format_html(
            '<pre class="sms-sample" style="white-space: pre-wrap; overflow-wrap: anywhere">{}</pre>'
            "<p>{}, with sample values.</p>",
            text,
            length,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.by_sms:
            text, length = sms_sample(obj.sms_template, obj.kind)
            if length.parts > 1:
                self.message_user(
                    request,
                    f"The SMS of \u201c{obj}\u201d is {length} with sample values, and costs as many messages: "
                    "shorten the SMS text to send it as one.",
                    messages.WARNING,
                )

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
