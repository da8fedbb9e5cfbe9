"""Mixtures, treatment plans, their sessions and what was injected."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import (
    Injection,
    Mixture,
    MixtureComponent,
    SessionStatus,
    SideEffect,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.services.booking import conflicts
from sessions_app.services.clearance import clearance

from .base import (
    BigTableAdmin,
    FixedChoicesMixin,
    NoDeleteInline,
    NoDeleteMixin,
    PractitionerListFilter,
    StrRelationsMixin,
)
from .clients import CLIENT_SEARCH, ConsentInline


class MixtureComponentInline(StrRelationsMixin, admin.TabularInline):
    model = MixtureComponent
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Mixture)
class MixtureAdmin(admin.ModelAdmin):
    list_display = ["name", "indication", "active"]
    list_select_related = ["indication"]
    search_fields = ["name"]
    list_filter = ["active", "indication"]
    inlines = [MixtureComponentInline]


@admin.register(MixtureComponent)
class MixtureComponentAdmin(StrRelationsMixin, admin.ModelAdmin):
    list_display = ["mixture", "product", "amount", "unit"]
    list_select_related = ["mixture", "product"]
    search_fields = ["mixture__name", "product__name"]
    list_filter = ["mixture"]
    autocomplete_fields = ["mixture", "product"]


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(NoDeleteMixin, StrRelationsMixin, SimpleHistoryAdmin):
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
        # Marking a session completed here follows the same treatment rule as the
        # schedule's Complete button (sessions_app.clearance).
        if cleaned.get("status") == SessionStatus.COMPLETED and "status" in self.changed_data and self.instance.pk:
            verdict = clearance(self.instance)
            if not verdict.may_treat:
                # A form-wide error, so that the field checks and constraints still run.
                self.add_error(None, "Cannot be completed: " + " ".join(verdict.reasons))
        start, end = cleaned.get("starts_at"), cleaned.get("ends_at")
        practitioner, room = cleaned.get("practitioner"), cleaned.get("room")
        if cleaned.get("status") == SessionStatus.CANCELLED or not all((start, end, practitioner, room)):
            return cleaned
        # The booking service's overlap rule, so that the admin shows a clash
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


class InjectionInline(FixedChoicesMixin, StrRelationsMixin, NoDeleteInline):
    model = Injection
    fields = ["area", "lots", "volume_ml", "depth", "technique", "needle_length_mm", "points"]
    autocomplete_fields = ["lots"]
    fixed_choice_fields = ("area",)

    def get_queryset(self, request):
        # Each row's form reads its lots from here rather than by a query of its own.
        return super().get_queryset(request).prefetch_related("lots")


class SideEffectInline(FixedChoicesMixin, StrRelationsMixin, NoDeleteInline):
    """The client is the session's; the recorder is whoever adds the row."""

    model = SideEffect
    fields = [
        "kind",
        "severity",
        "serious",
        "onset",
        "resolved_on",
        "action_taken",
        "recorded_by",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = ["recorded_by"]
    autocomplete_fields = ["reviewed_by"]
    fixed_choice_fields = ("kind",)
    # Keeps the row within the page width.
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(TreatmentSession)
class TreatmentSessionAdmin(NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    form = TreatmentSessionForm
    list_display = ["starts_at", "client", "sequence", "is_maintenance", "practitioner", "room", "status"]
    list_select_related = ["plan__client", "practitioner", "room"]
    search_fields = [f"plan__client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["status", "is_maintenance", ("practitioner", PractitionerListFilter), "room"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["plan", "practitioner"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["plan", "sequence", "is_maintenance", "status"]}),
        ("Booking", {"fields": ["starts_at", "ends_at", "practitioner", "room"]}),
        ("Record", {"fields": ["anaesthetic", "pain_score", "combination_therapy", "notes", "completed_at"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [InjectionInline, SideEffectInline]

    @admin.display(ordering="plan__client__last_name")
    def client(self, obj: TreatmentSession):
        return obj.plan.client

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            if isinstance(obj, SideEffect):
                obj.client_id = form.instance.plan.client_id
                if obj.recorded_by_id is None:
                    obj.recorded_by = request.user
            obj.save()
        formset.save_m2m()


@admin.register(Injection)
class InjectionAdmin(NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    list_display = ["session", "area", "lot_numbers", "volume_ml", "depth", "technique", "needle_length_mm", "points"]
    list_select_related = ["session__plan__client", "area"]
    # Searching a lot number lists every client who received it (a recall).
    search_fields = ["lots__lot_number", *(f"session__plan__client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["depth", "technique", "area"]
    date_hierarchy = "session__starts_at"
    autocomplete_fields = ["session", "lots"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lots")

    @admin.display(description="lots")
    def lot_numbers(self, obj: Injection) -> str:
        return ", ".join(lot.lot_number for lot in obj.lots.all())
