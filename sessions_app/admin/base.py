"""What every Mesoclinic admin screen shares: the no-delete rule for clinical
records, the settings for big tables, and list filters."""

from django.contrib import admin
from django.contrib.admin import ShowFacets, helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

from sessions_app.models import (
    Consent,
    Injection,
    MixtureComponent,
    ProductLot,
    Reminder,
    Role,
    Screening,
    SideEffect,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.models.expressions import count_up_to


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered PostgreSQL table from the planner's statistics once
    it is big, instead of a COUNT(*) that reads the whole table on every page;
    and a filtered list (a search, a filter, a date, the clients' default
    "active") up to `count_at_most` rows, then says "more than" (`capped`):
    counting every active client of a chain read 100,000 rows a page.

    SQLite gets the exact count. The estimate is refreshed by autovacuum's
    ANALYZE, so the total shown under an unfiltered list can be off by a few
    percent: a page past the real end is empty (not an error), and rows past
    the estimated or counted end are reached by sorting the other way or by
    filtering, as nobody pages through 10,000 rows anyway.
    """

    # Below this an exact count takes a few milliseconds, and is exact.
    estimate_above = 50_000
    # A filtered list's rows counted, at most: a millisecond or two.
    count_at_most = 10_000
    capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if isinstance(qs, QuerySet) and connections[qs.db].vendor == "postgresql":
            if _whole_table(qs):
                return self._table_count(qs)
            if not qs.query.is_sliced and qs.query.combinator is None:
                return self._bounded_count(qs)
        return Paginator.count.func(self)

    def _bounded_count(self, qs: QuerySet) -> int:
        """COUNT(*) over at most count_at_most + 1 rows: one query, whatever the table's size."""
        counted = count_up_to(qs, self.count_at_most)
        self.capped = counted > self.count_at_most
        return counted

    def _table_count(self, qs: QuerySet) -> int:
        connection = connections[qs.db]
        table = connection.ops.quote_name(qs.model._meta.db_table)
        # One query either way: PostgreSQL runs the COUNT(*) sub-plan only when
        # the CASE needs it. reltuples is -1 for a table never analysed.
        sql = (
            f"SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint ELSE (SELECT COUNT(*) FROM {table}) END "
            "FROM pg_class WHERE oid = %s::regclass"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.estimate_above, table])
            return cursor.fetchone()[0]


def _whole_table(qs: QuerySet) -> bool:
    query = qs.query
    return not query.where and not query.distinct and query.combinator is None and not query.is_sliced


class CalendarSafeChangeList(ChangeList):
    """Django 6.1 computes the end of a date drill-down (?starts_at__year=9999:
    the next year, month or day) without catching the overflow past year
    9999, and answers with a 500. Here a date past the calendar is a bad
    filter like any other: the list, with Django's message."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class DateDrillDownMixin:
    """For every admin with a date_hierarchy (tests/test_admin.py checks them all)."""

    def get_changelist(self, request, **kwargs):
        return CalendarSafeChangeList


class BigTableAdmin(DateDrillDownMixin, admin.ModelAdmin):
    """Tables that grow by thousands of rows a year: no full COUNT(*) per page,
    no facet counts, and a date drill-down that reads the first and last date
    from an index instead of every row (templatetags/admin_dates.py). Their
    default ordering has an index, so a page is read, not sorted."""

    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    # A page renders within the pages' budget (50 ms on a 2-core machine); the
    # search and the filters find the rest.
    list_per_page = 25
    change_list_template = "admin/big_table_change_list.html"

    def action_checkbox(self, obj):
        """Django's row checkbox, written out rather than rendered through the
        form widget templates: the same HTML at a twentieth of the cost, which
        was a fifth of a 50-row page."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


class KeepLinkedMixin:
    """Reference rows that other records name through a many-to-many link (a
    lot an injection used, a substance a client is allergic to, an area of a
    plan) cannot be deleted: Django would silently unlink them, and a recall or
    an allergy would be lost. The delete page lists what still names the row,
    as it does for protected foreign keys; the row can be made inactive instead."""

    shown_per_link = 5

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        for rel in self.model._meta.related_objects:
            if rel.many_to_many:
                linked = rel.related_model._default_manager.filter(**{f"{rel.field.name}__in": list(objs)}).distinct()
                protected += _named(linked, self.shown_per_link)
        return deleted, counts, perms_needed, protected


def _named(rows: QuerySet, most: int) -> list[str]:
    """The first `most` rows by name, and how many more."""
    meta = rows.model._meta
    count = rows.count()
    names = [f"{meta.verbose_name.capitalize()}: {row}" for row in rows[:most]] if count else []
    if count > most:
        names.append(f"… and {count - most} more {meta.verbose_name_plural}")
    return names


class LogReadsMixin:
    """Opening a clinical record, or its history, in the admin is a read like
    any other: written to the access log under the record's client.
    `client_field` is the lookup from the model to its client's id."""

    client_field = "client_id"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            self._log_read(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._log_read(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def _log_read(self, request, object_id) -> None:
        from sessions_app.models import AccessAction
        from sessions_app.services.audit import access_record

        obj = self.get_object(request, unquote(object_id))  # None for an unknown or malformed id
        if obj is None:
            return
        client_id = self.model._default_manager.filter(pk=obj.pk).values_list(self.client_field, flat=True).first()
        detail = f"admin: {self.model._meta.verbose_name} {obj.pk}"
        access_record(request, AccessAction.VIEW_RECORD, client=client_id, detail=detail)


class ReadOnlyMixin:
    """Shown, never added, changed or deleted from the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NoDeleteMixin:
    """Clinical records are never deleted from the admin, whatever the user's
    permissions say. Without the delete permission Django also drops the
    "delete selected" bulk action."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NoDeleteInline(NoDeleteMixin, admin.TabularInline):
    extra = 0


# Models whose __str__ reads further relations, and what to load with them. Any
# form field or autocomplete list that shows one of them uses this queryset, so
# showing N of them is one query, not N + 1.
_STR_RELATIONS = {
    Consent: ["consent_text"],
    Injection: ["area"],
    MixtureComponent: ["product"],
    ProductLot: ["product"],
    Reminder: ["client"],
    Screening: ["client"],
    SideEffect: ["kind", "client"],
    TreatmentPlan: ["client", "indication"],
    TreatmentSession: ["plan__client"],
}


def str_queryset(model):
    relations = _STR_RELATIONS.get(model)
    return model._default_manager.select_related(*relations) if relations else None


class StrRelationsMixin:
    """Loads, with each related object a form shows, what its __str__ reads."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if (qs := str_queryset(db_field.related_model)) is not None:
            kwargs.setdefault("queryset", qs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if (qs := str_queryset(db_field.related_model)) is not None:
            kwargs.setdefault("queryset", qs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        # The autocomplete view lists this admin's queryset by __str__, and a
        # tabular inline shows each row's __str__. The changelist skips its
        # list_select_related when the queryset already has a select_related,
        # so both are applied here.
        relations = [*_STR_RELATIONS.get(self.model, []), *(getattr(self, "list_select_related", None) or [])]
        qs = super().get_queryset(request)
        return qs.select_related(*relations) if relations else qs


class FixedChoicesMixin:
    """For inlines: small reference-data selects (`fixed_choice_fields`) read
    their options once per page instead of once per row."""

    fixed_choice_fields: tuple[str, ...] = ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in self.fixed_choice_fields:
            # Called once per formset; a plain list is copied into each row's
            # form as is, where the queryset would be run again by each.
            field.choices = list(field.choices)
        return field


class PractitionerListFilter(admin.RelatedFieldListFilter):
    """Only the Practitioner group, not every member of staff."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False,
            limit_choices_to={"groups__name": Role.PRACTITIONER},
            ordering=ordering,
        )
