"""The reports page and its CSV downloads: managers read the whole clinic's
figures (or one practitioner's), practitioners their own (roles.py)."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.report_forms import ReportFilterForm
from sessions_app.reports.period import default_period, presets
from sessions_app.reports.queries import SECTIONS, Reports, Scope, reports_planned, sections_for, table_for
from sessions_app.roles import reports_practitioner
from sessions_app.spreadsheet import csv_writer


def _filter(request) -> tuple[ReportFilterForm, Scope | None]:
    """The filter as typed (or the default period), and the scope it gives;
    no scope while the filter has an error."""
    own = reports_practitioner(request.user)
    today = timezone.localdate()
    data = request.GET.copy()
    if "start" not in data and "end" not in data:
        period = default_period(today)
        data.update({"start": period.start.isoformat(), "end": period.end.isoformat()})
    form = ReportFilterForm(data, choose_practitioner=own is None)
    if not form.is_valid():
        return form, None
    chosen = form.cleaned_data.get("practitioner")
    practitioner_id = own if own is not None else (chosen.pk if chosen else None)
    return form, Scope(form.period, timezone.now(), practitioner_id)


# The page shows one section at a time (a tab each); "all" shows every
# section at once, to print.
ALL = "all"


@require_GET
def reports_page(request, section: str = SECTIONS[0].slug):
    """One section's tables and charts (or all of them): a fixed number of
    queries, each an aggregate, whatever the size of the clinic or the period."""
    form, scope = _filter(request)
    today = timezone.localdate()
    context = {"form": form, "scope": scope, "presets": presets(today), "section": section, "query": ""}
    if scope is None:
        context["tabs"] = [(s.slug, s.title) for s in SECTIONS]
        return render(request, "reports/reports.html", context)
    shown = sections_for(scope)
    if section != ALL and section not in {s.slug for s, _ in shown}:
        raise Http404("No such report.")
    reports = Reports(scope)
    with reports_planned():
        sections = [
            (s, [getattr(reports, method)() for _slug, method in tables])
            for s, tables in shown
            if section in (ALL, s.slug)
        ]
    context |= {
        "tabs": [(s.slug, s.title) for s, _ in shown],
        "sections": sections,
        "charts": {table.slug: table.chart.as_json() for _s, tables in sections for table in tables if table.chart},
        "query": request.GET.urlencode(),
        "practitioner_name": form.cleaned_data.get("practitioner") or (request.user if scope.practitioner_id else None),
    }
    return render(request, "reports/reports.html", context)


@require_GET
def report_csv(request, slug: str):
    """One table as CSV, exactly as the page shows it (the same rows)."""
    form, scope = _filter(request)
    if scope is None:
        raise Http404("Correct the period first.")
    with reports_planned():
        table = table_for(Reports(scope), slug)
    if table is None:
        raise Http404("No such report.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{slug}-{scope.period.start:%Y%m%d}-{scope.period.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    writer = csv_writer(response)
    writer.writerow(table.headers)
    for row in table.csv_rows():
        writer.writerow(row)
    return response
