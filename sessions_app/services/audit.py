"""Writing the access log: one row per read or export of a client's record."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from sessions_app.models import AccessLog, Client


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address: behind the TLS proxy (DJANGO_BEHIND_TLS_PROXY),
    the one it saw, which it appends last to X-Forwarded-For."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR") or None


def _entry(request: HttpRequest, action: str, client_id: int | None, detail: str) -> AccessLog:
    return AccessLog(
        user=request.user,
        action=action,
        client_id=client_id,
        detail=detail[:200],
        path=request.get_full_path()[:500],
        ip_address=client_ip(request),
    )


def access_record(request: HttpRequest, action: str, *, client: Client | int | None, detail: str = "") -> AccessLog:
    """Who opened what of which client, from where: one INSERT. Called by the
    views that show or export clinical data, after their permission check."""
    entry = _entry(request, action, client.pk if isinstance(client, Client) else client, detail)
    entry.save()
    return entry


def access_record_many(request: HttpRequest, action: str, *, client_ids: Iterable[int], detail: str = "") -> None:
    """One entry for each client a list or an export showed: one INSERT."""
    AccessLog.objects.bulk_create([_entry(request, action, pk, detail) for pk in sorted(set(client_ids))])
