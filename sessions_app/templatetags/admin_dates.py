"""The admin's date drill-down for big tables, at the cost of an index read.

Django's own `date_hierarchy` lists the years (then months, then days) that
have rows with a SELECT DISTINCT over every row of the list: on 100,000
sessions, 50 ms on every page of the unfiltered list. This one offers every
year, month or day between the first and the last date, which an index gives
in two reads: a clinic's records leave no year or month empty, and an empty
day shows an empty list. The links and the template are Django's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.db.models import Max, Min
from django.utils import timezone

register = template.Library()


def _between(first: dt.date, last: dt.date, kind: str) -> Iterator[dt.date]:
    """Each year, month or day from `first` to `last`, as its first day."""
    if kind == "year":
        yield from (dt.date(year, 1, 1) for year in range(first.year, last.year + 1))
    elif kind == "month":
        for index in range(first.year * 12 + first.month - 1, last.year * 12 + last.month):
            yield dt.date(index // 12, index % 12 + 1, 1)
    else:
        yield from (first + dt.timedelta(days=n) for n in range((last - first).days + 1))


class _BoundedDates:
    """The change list's queryset as `date_hierarchy` uses it: dates() and
    datetimes() from the first and last date, and that first and last date
    read once. Django asks for them itself (aggregate(first=Min, last=Max),
    to open an unfiltered list on its only year or month) before asking for
    the years: the same two index reads, which its query made twice."""

    def __init__(self, queryset):
        self._queryset = queryset
        self._spans: dict[str, dict] = {}

    def _span(self, field_name: str) -> dict:
        if field_name not in self._spans:
            self._spans[field_name] = self._queryset.aggregate(first=Min(field_name), last=Max(field_name))
        return self._spans[field_name]

    def aggregate(self, *args, **kwargs):
        first, last = kwargs.get("first"), kwargs.get("last")
        if (
            not args
            and kwargs.keys() == {"first", "last"}
            and isinstance(first, Min)
            and isinstance(last, Max)
            and first.source_expressions[0].name == last.source_expressions[0].name
        ):
            return dict(self._span(first.source_expressions[0].name))
        return self._queryset.aggregate(*args, **kwargs)

    def datetimes(self, field_name: str, kind: str) -> list[dt.date]:
        span = self._span(field_name)
        if span["first"] is None:
            return []
        first, last = (
            timezone.localtime(v).date() if isinstance(v, dt.datetime) and timezone.is_aware(v) else v
            for v in (span["first"], span["last"])
        )
        if isinstance(first, dt.datetime):
            first, last = first.date(), last.date()
        return list(_between(first, last, kind))

    dates = datetimes


class _ChangeListView:
    """The change list, seen through _BoundedDates."""

    def __init__(self, cl):
        self._cl = cl
        self.queryset = _BoundedDates(cl.queryset)

    def __getattr__(self, name):
        return getattr(self._cl, name)


def bounded_date_hierarchy(cl):
    return date_hierarchy(_ChangeListView(cl))


@register.tag(name="bounded_date_hierarchy")
def bounded_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        "bounded_date_hierarchy",
        parser,
        token,
        func=bounded_date_hierarchy,
        template_name="date_hierarchy.html",
        takes_context=False,
    )
