from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import SideEffect, SideEffectFollowUp
from sessions_app.side_effect_course import expected_resolution

from .base import BigTableAdmin, LogReadsMixin, NoDeleteMixin, StrRelationsMixin
from .clients import CLIENT_SEARCH


class OpenFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open: unresolved or not reviewed")]

    def queryset(self, request, queryset):
        # SideEffectQuerySet.open() is the one definition of "open".
        return queryset.open() if self.value() == "yes" else queryset


@admin.register(SideEffect)
class SideEffectAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "client_id"
    list_display = ["kind", "severity", "serious", "status", "client", "onset", "resolved_on", "reviewed_by"]
    list_select_related = ["kind", "client", "reviewed_by"]
    search_fields = ["kind__name", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = [OpenFilter, "severity", "serious", "kind"]
    date_hierarchy = "onset"
    autocomplete_fields = ["client", "session", "reviewed_by"]
    readonly_fields = ["recorded_by", "recorded_at", "source", "expected_resolution_on", "course"]
    fieldsets = [
        (None, {"fields": ["client", "session", "kind", "severity", "serious", "area"]}),
        ("Suspected", {"fields": ["suspected_product", "suspected_substance"]}),
        (
            "Course",
            {"fields": ["onset", "expected_resolution_on", "status", "resolved_on", "action_taken", "notes"]},
        ),
        ("Record", {"fields": ["source", "recorded_by", "recorded_at", "reviewed_by", "reviewed_at"]}),
        ("Follow-ups", {"fields": ["course"]}),
    ]

    @admin.display(description="course")
    def course(self, effect: SideEffect) -> str:
        """The follow-ups, as the side effect's page adds them (read here, never changed)."""
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
        return format_html("<ul>{}</ul>", lines) if lines else "—"

    def save_model(self, request, obj, form, change):
        if obj.recorded_by_id is None and obj.source == "staff":
            obj.recorded_by = request.user
        # As the side-effect service does: when one of its kind is usually gone.
        obj.expected_resolution_on = expected_resolution(obj.onset, obj.kind.expected_days)
        super().save_model(request, obj, form, change)
