"""New client, edit client, and the merge of two records of one person.

A new client comes from the search ("No match: add ... as a new client",
pre-filled from what was typed), from the booking page's client field (and
goes back there with the client picked), or from the menu. Before it is saved
the probable duplicates are offered: "It's this client" or "No, a different
person". An edit saved on an older version of the record is not saved: the
form comes back with what the other person changed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from sessions_app.client_forms import ClientForm, plain, read_snapshot, sign_snapshot, snapshot, three_way
from sessions_app.models import Client
from sessions_app.phones import phone_display
from sessions_app.search_terms import new_client_guess
from sessions_app.services.audit import client_ip
from sessions_app.services.clients import (
    ClientChanged,
    ClientMerged,
    MergeRefused,
    client_create,
    client_duplicates,
    client_merge,
    client_update,
    merge_summary,
)
from sessions_app.views.params import int_param, parse_int, text_param

MERGE_CANDIDATES = 10


def _next(request) -> str:
    """Where to go once the client exists (the booking page): a path of this site only."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _with_client(target: str, client_id: int) -> str:
    """`target` with ?client=<id>, which the booking page reads to pick the client."""
    return f"{target}{'&' if '?' in target else '?'}client={client_id}"


def _done(request, client: Client, back: str) -> HttpResponseRedirect:
    return redirect(_with_client(back, client.pk) if back else reverse("client_detail", args=[client.pk]))


def _errors_to_form(form, invalid: ValidationError) -> None:
    if hasattr(invalid, "error_dict"):
        for field, errors in invalid.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, invalid.messages)


@permission_required("sessions_app.add_client", raise_exception=True)
@require_http_methods(["GET", "POST"])
def client_new(request):
    back = _next(request)
    query = text_param(request, max_length=200)
    if request.method == "GET":
        guess = new_client_guess(query, settings.CLINIC_PHONE_REGION)
        initial = {k: v for k, v in vars(guess).items() if v} if query else {}
        if guess.phone:
            initial["phone"] = phone_display(guess.phone, settings.CLINIC_PHONE_REGION)
        form = ClientForm(user=request.user, initial=initial)
        return render(request, "clients/form.html", {"form": form, "next": back, "query": query})

    form = ClientForm(request.POST, user=request.user)
    context = {"form": form, "next": back, "query": request.POST.get("query", "")}
    if not form.is_valid():
        return render(request, "clients/form.html", context)
    data = form.cleaned_data
    if request.POST.get("distinct") != "1":
        duplicates = client_duplicates(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            phone=data["phone"],
            email=data["email"],
        )
        if duplicates:
            links = {d.client.pk: _with_client(back, d.client.pk) if back else None for d in duplicates}
            context |= {"duplicates": duplicates, "duplicate_links": links}
            return render(request, "clients/form.html", context)
    try:
        client = client_create(by=request.user, values=form.values(), allergies=form.chosen_allergies())
    except ValidationError as invalid:
        _errors_to_form(form, invalid)
        return render(request, "clients/form.html", context)
    messages.success(request, f"{client.full_name} added.")
    return _done(request, client, back)


@permission_required("sessions_app.change_client", raise_exception=True)
@require_http_methods(["GET", "POST"])
def client_edit(request, pk: int):
    client = get_object_or_404(Client.objects.select_related("merged_into"), pk=pk)
    back = _next(request)
    if client.is_merged:
        messages.warning(request, f"This record was merged into {client.merged_into.full_name}'s: edit that one.")
        return redirect("client_edit", client.merged_into_id)
    if request.method == "GET":
        form = ClientForm(instance=client, user=request.user)
        return render(request, "clients/form.html", {"form": form, "client": client, "next": back})

    form = ClientForm(request.POST, instance=client, user=request.user)
    context = {"form": form, "client": client, "next": back}
    if not form.is_valid():
        return render(request, "clients/form.html", context)
    version = form.cleaned_data.get("version") or 0
    try:
        client_update(
            client_id=client.pk,
            version=version,
            by=request.user,
            values=form.values(),
            allergies=form.chosen_allergies(),
        )
    except ClientChanged as changed:
        return _changed_meanwhile(request, form, changed, back)
    except ClientMerged:
        messages.warning(request, "This record was merged into another while you were editing: nothing was saved.")
        return redirect("client_detail", client.pk)
    except ValidationError as invalid:
        _errors_to_form(form, invalid)
        return render(request, "clients/form.html", context)
    messages.success(request, f"{client.first_name} {client.last_name}: changes saved.")
    return redirect(back or reverse("client_detail", args=[client.pk]))


def _display(name: str, value) -> str:
    if name == "phone":
        return phone_display(value or "", settings.CLINIC_PHONE_REGION) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in ("", None, []):
        return "(empty)"
    return str(value)


def _changed_meanwhile(request, form: ClientForm, changed: ClientChanged, back: str):
    """Nothing saved: the form comes back on the latest version, with the other
    person's changes taken in where this editor left the field alone, and each
    field both changed marked beside it."""
    current = changed.client
    fields = form.value_fields()
    theirs = snapshot(current, fields)
    mine = {name: plain(form.cleaned_data.get(name)) for name in fields}
    merged, conflicts, theirs_only = three_way(read_snapshot(form.cleaned_data.get("loaded")), mine, theirs)
    last = current.history.select_related("history_user").first()
    who = (last.history_user.get_full_name() or last.history_user.username) if last and last.history_user else None
    when = timezone.localtime(last.history_date) if last else None

    data = {name: value for name, value in merged.items() if value not in (None, False)}
    if "phone" in data:
        data["phone"] = phone_display(data["phone"], settings.CLINIC_PHONE_REGION)
    data |= {"version": current.version, "loaded": sign_snapshot(theirs)}
    again = ClientForm(data=data, instance=current, user=request.user)
    again.is_valid()
    labels = {name: str(form.fields[name].label or name) for name in fields}
    for name in conflicts:
        again.add_error(
            name, f"Saved meanwhile as “{_display(name, theirs[name])}”. Yours is kept here: save to replace theirs."
        )
    at = f" at {when:%H:%M}" if when else ""
    if who:
        summary = f"{who} changed this record{at} while you were editing it: nothing was saved yet."
    elif last and last.history_change_reason:
        # No staff member: the client, by a link in a message, says the reason.
        how = last.history_change_reason
        summary = f"This record changed{at} while you were editing it ({how}): nothing was saved yet."
    else:
        summary = f"Someone changed this record{at} while you were editing it: nothing was saved yet."
    if theirs_only:
        summary += " Their changes are in the form now: " + ", ".join(
            f"{labels[n]} “{_display(n, theirs[n])}”" for n in theirs_only
        )
        summary += "."
    summary += " Check the form, then save again." if conflicts or theirs_only else " Save again to keep yours."
    again.add_error(None, summary)
    context = {"form": again, "client": current, "next": back, "changed": True}
    return render(request, "clients/form.html", context, status=409)


@permission_required("sessions_app.merge_client", raise_exception=True)
@require_http_methods(["GET", "POST"])
def client_merge_view(request, pk: int):
    """Merge another record of the same person into this one (or this one into
    it): search, preview both side by side, one confirm."""
    client = get_object_or_404(Client, pk=pk)
    if request.method == "POST":
        return _merge(request, client)
    if client.is_merged:
        messages.info(request, "This record was merged already: merge into the one it was merged into.")
        return redirect("client_detail", client.merged_into_id)
    query = text_param(request)
    other = None
    if other_id := int_param(request, "other"):
        other = Client.objects.filter(pk=other_id, merged_into__isnull=True).exclude(pk=client.pk).first()
    candidates = []
    if query and other is None:
        found = Client.objects.filter(merged_into__isnull=True, erased_at__isnull=True).exclude(pk=client.pk)
        candidates = list(found.search(query)[:MERGE_CANDIDATES])
    context = {"client": client, "query": query, "candidates": candidates, "other": other}
    if other:
        context["summaries"] = {client.pk: merge_summary(client), other.pk: merge_summary(other)}
    return render(request, "clients/merge.html", context)


def _merge(request, client: Client):
    keep_id = parse_int(request.POST.get("keep"))
    other_id = parse_int(request.POST.get("other"))
    ids = {client.pk, other_id}
    if other_id is None or keep_id not in ids or len(ids) != 2:
        messages.error(request, "Choose the other record and the one to keep.")
        return redirect("client_merge", client.pk)
    merge_id = other_id if keep_id == client.pk else client.pk
    versions = {
        client.pk: parse_int(request.POST.get("version")),
        other_id: parse_int(request.POST.get("other_version")),
    }
    try:
        result = client_merge(
            keep_id=keep_id,
            merge_id=merge_id,
            by=request.user,
            keep_version=versions[keep_id],
            merge_version=versions[merge_id],
            path=request.get_full_path(),
            ip_address=client_ip(request),
        )
    except ClientChanged as changed:
        messages.warning(
            request, f"{changed.client.full_name}'s record changed while you looked: check the records again."
        )
        return redirect(reverse("client_merge", args=[client.pk]) + f"?other={other_id}")
    except MergeRefused as refused:
        messages.error(request, str(refused))
        return redirect("client_detail", client.pk)
    moved = ", ".join(f"{n} {label}" for label, n in result.moved.items() if n) or "nothing clinical"
    messages.success(
        request,
        f"Record {result.merged.pk} merged into this one ({moved} moved); the other record is archived.",
    )
    return redirect("client_detail", result.kept.pk)
