"""Side effects in the admin: recorded and corrected through the same
services as the staff pages (services/side_effects.py), their rule said
beside the fields; their course (status, the day it resolved) and review
are the side effect's page's, shown here and linked."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import SideEffect, SideEffectFollowUp, TreatmentSession
from sessions_app.services.side_effects import (
    EDITABLE,
    side_effect_record,
    side_effect_refusals,
    side_effect_update,
    status_when_recorded,
)

from .base import BigTableAdmin, FixedChoicesMixin, LogReadsMixin, NoDeleteInline, NoDeleteMixin, StrRelationsMixin
from .clients import CLIENT_SEARCH


class OpenFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open: unresolved or not reviewed")]

    def queryset(self, request, queryset):
        # SideEffectQuerySet.open() is the one definition of "open".
        return queryset.open() if self.value() == "yes" else queryset


# What a side effect is recorded with, beside its client (side_effect_record).
RECORDED = (*EDITABLE, "resolved_on")


def refusals_to_form(form: forms.BaseForm, client_id: int, session, resolved_on, cause_changed: bool) -> None:
    """side_effect_refusals, each beside its field (or at the top)."""
    data = form.cleaned_data
    for field, message in side_effect_refusals(
        client_id=client_id,
        session=session,
        onset=data.get("onset"),
        resolved_on=resolved_on,
        now=timezone.now(),
        cause_changed=cause_changed,
    ).items():
        form.add_error(field if field in form.fields else None, message)


def copy_saved(obj: SideEffect, saved: SideEffect) -> None:
    """The admin logs and redirects with the object it built: give it what the
    service saved."""
    for field in SideEffect._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db


class SideEffectAdminForm(forms.ModelForm):
    """Recording (the client and the day it resolved typed too) or correcting
    a side effect: the service's rule beside the fields."""

    def clean(self):
        data = super().clean()
        adding = self.instance._state.adding
        client = data.get("client") if adding else self.instance.client
        if adding:
            self.instance.status = status_when_recorded(data.get("resolved_on"))
        if client is not None:
            resolved_on = data.get("resolved_on") if adding else self.instance.resolved_on
            cause_changed = "session" in self.changed_data
            refusals_to_form(self, client.pk, data.get("session"), resolved_on, cause_changed)
        return data


class ServiceRefusalMixin:
    """A service that refuses under its lock what the form accepted a moment
    before (the session changed meanwhile): the whole save is rolled back,
    and said, instead of a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            text = " ".join(exc.messages)
        self.message_user(request, f"Nothing was saved: {text}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


@admin.register(SideEffect)
class SideEffectAdmin(
    ServiceRefusalMixin, LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin
):
    client_field = "client_id"
    form = SideEffectAdminForm
    list_display = ["kind", "severity", "serious", "status", "client", "onset", "resolved_on", "reviewed_by"]
    list_select_related = ["kind", "client", "reviewed_by"]
    search_fields = ["kind__name", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = [OpenFilter, "severity", "serious", "kind"]
    date_hierarchy = "onset"
    autocomplete_fields = ["client", "session"]
    readonly_fields = [
        "recorded_by",
        "recorded_at",
        "source",
        "expected_resolution_on",
        "status",
        "reviewed_by",
        "reviewed_at",
        "course",
    ]
    fieldsets = [
        (None, {"fields": ["client", "session", "kind", "severity", "serious", "area"]}),
        ("Suspected", {"fields": ["suspected_product", "suspected_substance"]}),
        (
            "Course",
            {
                "fields": [
                    "onset",
                    "expected_resolution_on",
                    "status",
                    "resolved_on",
                    "course",
                    "action_taken",
                    "notes",
                ]
            },
        ),
        ("Record", {"fields": ["source", "recorded_by", "recorded_at", "reviewed_by", "reviewed_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Its client is for good once recorded; its course changes by follow-ups.
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "client", "resolved_on"]

    @admin.display(description="follow-ups")
    def course(self, effect: SideEffect) -> str:
        """The follow-ups, as the side effect's page adds them (read here, never
        changed), and the way there to follow it up or review it."""
        if not effect.pk:
            return "—"
        entries = SideEffectFollowUp.objects.filter(side_effect=effect).select_related("recorded_by")
        lines = format_html_join(
            "",
            "<li>{} · {} · {} → {}: {}</li>",
            (
                (
                    timezone.localtime(e.at).strftime("%d/%m/%Y %H:%M"),
                    e.recorded_by or "the client",
                    e.get_previous_status_display(),
                    e.get_status_display(),
                    e.note,
                )
                for e in entries
            ),
        )
        link = format_html(
            '<a href="{}">Follow it up, resolve or review it on its page</a>',
            reverse("side_effect_detail", args=[effect.pk]),
        )
        return format_html("<ul>{}</ul>{}", lines, link) if lines else link

    def save_model(self, request, obj, form, change):
        """Through the side-effect services, as the staff pages save: the
        cause and onset checked again under a lock, the expected resolution
        set, the history kept with who did it."""
        if change:
            changes = {name: form.cleaned_data[name] for name in EDITABLE if name in form.changed_data}
            if not changes:
                return
            saved = side_effect_update(side_effect_id=obj.pk, by=request.user, **changes)
        else:
            saved = side_effect_record(
                client=obj.client, recorded_by=request.user, **{name: getattr(obj, name) for name in RECORDED}
            )
        copy_saved(obj, saved)


class SideEffectInlineForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        # As side_effect_record will record it (SideEffect.clean checks the pair).
        self.instance.status = status_when_recorded(data.get("resolved_on"))
        return data


class SideEffectInlineFormSet(forms.BaseInlineFormSet):
    """A side effect added to a session: the service's rule beside each new row."""

    def clean(self):
        super().clean()
        session: TreatmentSession = self.instance
        for form in self.forms:
            if form.instance._state.adding and form.has_changed() and hasattr(form, "cleaned_data"):
                resolved_on = form.cleaned_data.get("resolved_on")
                refusals_to_form(form, session.plan.client_id, session, resolved_on, cause_changed=True)


class SideEffectInline(FixedChoicesMixin, StrRelationsMixin, NoDeleteInline):
    """A session's side effects: added here only to a session that can have
    caused one (one of the client's past sessions in which they were
    treated), through the service (TreatmentSessionAdmin.save_formset);
    changed on their own admin page, followed up on the staff page."""

    model = SideEffect
    form = SideEffectInlineForm
    formset = SideEffectInlineFormSet
    show_change_link = True
    fields = ["kind", "severity", "serious", "onset", "resolved_on", "action_taken", "status", "recorded_by"]
    readonly_fields = ["status", "recorded_by"]
    fixed_choice_fields = ("kind",)
    # Keeps the row within the page width.
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None) -> bool:
        if obj is None or not super().has_add_permission(request, obj):
            return False
        # Asked once per page (Django asks several times).
        if not hasattr(obj, "_may_add_side_effect"):
            refusal = side_effect_refusals(client_id=obj.plan.client_id, session=obj, onset=None, now=timezone.now())
            obj._may_add_side_effect = not refusal
        return obj._may_add_side_effect

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def side_effects_save_formset(request, session: TreatmentSession, formset) -> None:
    """The new rows of a session's side-effect inline, each through
    side_effect_record; the rows before are read-only. Sets what the admin's
    change message reads from a saved formset."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        obj = form.instance
        if obj._state.adding and form.has_changed() and form not in formset.deleted_forms:
            saved = side_effect_record(
                client=session.plan.client,
                recorded_by=request.user,
                **{name: getattr(obj, name) for name in RECORDED if name != "session"},
                session=session,
            )
            copy_saved(obj, saved)
            formset.new_objects.append(obj)
