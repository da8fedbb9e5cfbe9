"""Treatment plans, their sessions and what was injected."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import (
    Injection,
    SessionStatus,
    SideEffect,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.reminders.generate import reminders_follow_sessions
from sessions_app.services.clearance import clearance
from sessions_app.services.records import LotContext, lots_for_rule
from sessions_app.services.session_status import InvalidTransition, session_set_status
from sessions_app.services.slots import conflicts, is_double_booking

from .base import (
    BigTableAdmin,
    FixedChoicesMixin,
    LogReadsMixin,
    NoDeleteInline,
    NoDeleteMixin,
    PractitionerListFilter,
    StrRelationsMixin,
)
from .clients import CLIENT_SEARCH, ConsentInline
from .side_effects import SideEffectInline, side_effects_save_formset


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "client_id"
    list_display = ["client", "indication", "mixture", "practitioner", "sessions_planned", "status", "created_at"]
    list_select_related = ["client", "indication", "mixture", "practitioner"]
    search_fields = [f"client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["status", "indication", ("practitioner", PractitionerListFilter)]
    date_hierarchy = "created_at"
    autocomplete_fields = ["client", "practitioner", "areas", "mixture"]
    readonly_fields = ["created_at"]
    inlines = [ConsentInline]


class TreatmentSessionForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        status, before = cleaned.get("status"), self.instance.status
        # A session is completed by signing its record on the record page, which
        # asks the treatment rule and the lot rule first; the admin cannot.
        if status == SessionStatus.COMPLETED and not self.instance.is_signed:
            self.add_error(
                "status",
                "A session is completed by signing its record: open it from the schedule (Record), "
                "where the treatment rule and the lots are checked.",
            )
        # Any other change only as the schedule's actions make it, when they
        # may (a cancelled session is not booked again here: re-book it from its
        # plan; arrived only on the session's day). The status service makes the
        # change (save_model), as the schedule's buttons do.
        elif self.instance.pk and status and status != before:
            starts_at = self.instance.starts_at
            refusal = SessionStatus.refusal(before, status, starts_at=starts_at, now=timezone.now())
            if refusal:
                self.add_error("status", refusal)
            elif status == SessionStatus.CANCELLED and not cleaned.get("cancellation"):
                self.add_error("cancellation", "Say who cancelled the session.")
        if "cancellation" in self.fields and cleaned.get("cancellation") and status != SessionStatus.CANCELLED:
            self.add_error("cancellation", "Only a cancelled session says who cancelled it.")
        start, end = cleaned.get("starts_at"), cleaned.get("ends_at")
        practitioner, room = cleaned.get("practitioner"), cleaned.get("room")
        if cleaned.get("status") == SessionStatus.CANCELLED or not all((start, end, practitioner, room)):
            return cleaned
        # The booking services' overlap rule (services.slots), so that the admin shows a clash
        # as an error; PostgreSQL's exclusion constraint would refuse it anyway.
        clash = (
            conflicts(
                practitioner=practitioner,
                room=room,
                start=start,
                end=end,
                exclude=[self.instance.pk] if self.instance.pk else [],
            )
            .select_related("plan__client", "practitioner", "room")
            .first()
        )
        if clash:
            who = clash.practitioner if clash.practitioner_id == practitioner.pk else clash.room
            starts, ends = timezone.localtime(clash.starts_at), timezone.localtime(clash.ends_at)
            raise ValidationError(
                f"{who} is already booked then: {clash.plan.client}, {starts:%d/%m/%Y %H:%M}–{ends:%H:%M}."
            )
        return cleaned


class InjectionForm(forms.ModelForm):
    """The record page's lot rule, for injections entered here. The session is
    the inline's parent, or the one chosen on the injection's own form."""

    def clean(self):
        cleaned = super().clean()
        session = cleaned.get("session") or getattr(self.instance, "session", None)
        if session is None or session.pk is None:
            return cleaned
        if session.is_signed:
            raise ValidationError("This session's record is signed: correct it with an amendment on its record page.")
        if session.status in SessionStatus.NOT_KEPT:
            raise ValidationError(f"A {session.get_status_display().lower()} session has nothing injected to record.")
        if lots := cleaned.get("lots"):
            for reason in LotContext.of(session).refusals(lots_for_rule().filter(pk__in=[lot.pk for lot in lots])):
                self.add_error("lots", reason)
        return cleaned


class InjectionInline(FixedChoicesMixin, StrRelationsMixin, NoDeleteInline):
    """Injections of a session not yet signed (drafts the record page takes
    over); a signed record's are shown read-only."""

    model = Injection
    form = InjectionForm
    fields = ["area", "lots", "volume_ml", "depth", "technique", "needle_length_mm", "points"]
    autocomplete_fields = ["lots"]
    fixed_choice_fields = ("area",)

    def get_queryset(self, request):
        # Each row's form reads its lots from here rather than by a query of its own.
        return super().get_queryset(request).prefetch_related("lots")

    def has_add_permission(self, request, obj=None) -> bool:
        return not (obj and obj.is_signed) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and obj.is_signed) and super().has_change_permission(request, obj)


@admin.register(TreatmentSession)
class TreatmentSessionAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "plan__client_id"
    form = TreatmentSessionForm
    list_display = ["starts_at", "client", "sequence", "is_maintenance", "practitioner", "room", "status"]
    list_select_related = ["plan__client", "practitioner", "room"]
    search_fields = [f"plan__client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["status", "is_maintenance", ("practitioner", PractitionerListFilter), "room"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["plan", "practitioner"]
    readonly_fields = [
        "treatment_clearance",
        "record_page",
        "status_changed_by",
        "status_changed_at",
        "signed_by",
        "signed_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "plan",
                    "sequence",
                    "is_maintenance",
                    "status",
                    "cancellation",
                    "status_changed_by",
                    "status_changed_at",
                    "treatment_clearance",
                ]
            },
        ),
        ("Booking", {"fields": ["starts_at", "ends_at", "practitioner", "room"]}),
        (
            "Record",
            {
                "fields": [
                    "record_page",
                    "anaesthetic",
                    "pain_score",
                    "combination_therapy",
                    "notes",
                    "completed_at",
                    "signed_by",
                    "signed_at",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [InjectionInline, SideEffectInline]

    def get_readonly_fields(self, request, obj=None):
        # A signed record changes only by an amendment on its record page; its
        # side effects may still be added here.
        if obj is not None and obj.is_signed:
            return [name for _, options in self.fieldsets for name in options["fields"]]
        return self.readonly_fields

    @admin.display(ordering="plan__client__last_name")
    def client(self, obj: TreatmentSession):
        return obj.plan.client

    @admin.display(description="may the client be treated?")
    def treatment_clearance(self, obj: TreatmentSession) -> str:
        """The same verdict as the schedule's badge and the record page (sessions_app.clearance)."""
        if obj.pk is None or obj.status not in SessionStatus.AHEAD:
            return "—"
        verdict = clearance(obj)
        return "Yes." if verdict.may_treat else " ".join(verdict.reasons)

    @admin.display(description="record page")
    def record_page(self, obj: TreatmentSession) -> str:
        if obj.pk is None:
            return "—"
        label = "Open the signed record (amend it there)" if obj.is_signed else "Record and sign the session there"
        return format_html('<a href="{}">{}</a>', reverse("session_record", args=[obj.pk]), label)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The form checks for a clash first; a booking made in the same instant
        # is refused by PostgreSQL's exclusion constraint, and the whole save is
        # rolled back: say so instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as exc:
            if not is_double_booking(exc):
                raise
            text = "the practitioner or the room was booked for that time by someone else a moment ago."
        except InvalidTransition as exc:
            # The status changed under the form (someone else's action): the
            # whole save was rolled back.
            text = str(exc)
        except ValidationError as exc:
            # A side effect added below that side_effect_record refused under
            # its lock (the session changed meanwhile).
            text = " ".join(exc.messages)
        self.message_user(request, f"Nothing was saved: {text}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        status = obj.status
        changes_status = change and "status" in form.changed_data
        if changes_status:
            # The other fields are saved as they are; the status through the
            # status service, which asks the same rule again under a lock and
            # records who changed it (undo, history).
            obj.status, obj.cancellation = form.initial["status"], form.initial.get("cancellation", "")
        super().save_model(request, obj, form, change)
        if changes_status:
            session_set_status(
                session_id=obj.pk,
                action=SessionStatus.action_to(status),
                by=request.user,
                cancellation=form.cleaned_data.get("cancellation", ""),
            )
            obj.refresh_from_db()
        elif change and {"starts_at", "ends_at"} & set(form.changed_data):
            # The same as a move in the staff pages: the session's pending
            # reminders follow it.
            reminders_follow_sessions(session_ids=[obj.pk])

    def save_formset(self, request, form, formset, change):
        if formset.model is SideEffect:
            side_effects_save_formset(request, form.instance, formset)
            return
        super().save_formset(request, form, formset, change)


@admin.register(Injection)
class InjectionAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "session__plan__client_id"
    list_display = ["session", "area", "lot_numbers", "volume_ml", "depth", "technique", "needle_length_mm", "points"]
    list_select_related = ["session__plan__client", "area"]
    # Searching a lot number lists every client who received it (a recall).
    search_fields = ["lots__lot_number", *(f"session__plan__client__{f}" for f in CLIENT_SEARCH)]
    # The session's date as a filter of fixed choices: a drill-down through the
    # session would read every injection and its session on each page.
    list_filter = [("session__starts_at", admin.DateFieldListFilter), "depth", "technique", "area"]
    # The newest recorded first, from the primary key: the model's order goes
    # through the session's (its date) and sorted every injection.
    ordering = ["-pk"]
    autocomplete_fields = ["session", "lots"]
    form = InjectionForm

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lots")

    def has_change_permission(self, request, obj=None) -> bool:
        # A signed record's injections change only by an amendment on its record page.
        return not (obj and obj.session.is_signed) and super().has_change_permission(request, obj)

    @admin.display(description="lots")
    def lot_numbers(self, obj: Injection) -> str:
        return ", ".join(lot.lot_number for lot in obj.lots.all())
