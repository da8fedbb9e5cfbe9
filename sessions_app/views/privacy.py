"""Privacy requests, answered by a manager: a client's whole record (a readable
page and machine-readable JSON), and the erasure of contact and marketing data."""

import json

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app.models import AccessAction, Client
from sessions_app.services.audit import access_record
from sessions_app.services.privacy import AlreadyErased, client_erase, client_record, retention_until


def _client(pk: int) -> Client:
    return get_object_or_404(Client.objects.prefetch_related("allergies"), pk=pk)


@permission_required("sessions_app.export_client", raise_exception=True)
@require_GET
def client_export(request, pk: int):
    """The whole record on one page, to print or read with the client."""
    client = _client(pk)
    record = client_record(client)
    access_record(request, AccessAction.EXPORT_CLIENT, client=client, detail="readable page")
    return render(request, "privacy/export.html", {"client": client, "record": record})


@permission_required("sessions_app.export_client", raise_exception=True)
@require_GET
def client_export_json(request, pk: int):
    client = _client(pk)
    record = client_record(client)
    access_record(request, AccessAction.EXPORT_CLIENT, client=client, detail="JSON file")
    body = json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = f"client-{client.pk}-record-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class EraseForm(forms.Form):
    confirm_name = forms.CharField(label="Type the client's full name to confirm", max_length=200)

    def __init__(self, *args, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_confirm_name(self):
        typed = " ".join(self.cleaned_data["confirm_name"].split())
        if typed.casefold() != self.client.full_name.casefold():
            raise forms.ValidationError(f"Type “{self.client.full_name}” exactly, to be sure of the client.")
        return typed


@permission_required("sessions_app.erase_client", raise_exception=True)
@require_http_methods(["GET", "POST"])
def client_erase_view(request, pk: int):
    client = _client(pk)
    form = EraseForm(request.POST or None, client=client)
    if request.method == "POST" and not client.is_erased and form.is_valid():
        try:
            client_erase(client_id=client.pk, by=request.user)
        except AlreadyErased as exc:
            messages.info(request, str(exc))
        else:
            access_record(request, AccessAction.ERASE_CLIENT, client=client, detail="contact and marketing data")
            messages.success(
                request,
                f"{client.full_name}'s contact and marketing data are erased and no reminder will be sent; "
                "the clinical record is kept.",
            )
        return redirect("client_detail", client.pk)
    context = {"client": client, "form": form, "retention_until": retention_until(client)}
    return render(request, "privacy/erase.html", context)
