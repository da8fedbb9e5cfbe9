from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from sessions_app.models import Reminder, ReminderKind, ReminderRule
from sessions_app.reminders.delivery import SMS_SAMPLE_VALUES, email_sample, sms_sample
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
    # The preview beside the texts, updated as they are typed (static/js/rule_preview.js).
    change_form_template = "admin/sessions_app/reminderrule/change_form.html"

    def get_urls(self):
        preview = self.admin_site.admin_view(require_POST(self.preview_view))
        return [path("preview/", preview, name="sessions_app_reminderrule_preview"), *super().get_urls()]

    def preview_view(self, request):
        """What the rule being typed would send a sample client: the email's
        subject and text, the SMS with its length and parts, or why a text
        cannot be filled in. Nothing is saved."""
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        rule = ReminderRule(
            kind=request.POST.get("kind", ""),
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            sms_body=request.POST.get("sms_body", ""),
        )
        return JsonResponse(rule_preview(rule))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra = {"sample_client": SMS_SAMPLE_VALUES["client_name"], **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra)

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


def rule_preview(rule: ReminderRule) -> dict:
    """The rule's email and SMS for the sample client, as plain values;
    an error instead of a text that cannot be filled in."""
    if rule.kind not in ReminderKind.values:
        return {"error": "Choose the kind of reminder first: the placeholders depend on it."}
    result = {}
    try:
        result["email_subject"], result["email_text"] = email_sample(rule.subject, rule.body, rule.kind)
    except TemplateError as exc:
        result["email_error"] = str(exc)
    try:
        text, length = sms_sample(rule.sms_template, rule.kind)
        result |= {"sms_text": text, "sms_length": str(length), "sms_parts": length.parts}
    except TemplateError as exc:
        result["sms_error"] = str(exc)
    return result
