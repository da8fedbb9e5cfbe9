"""Writing the access log: one row per read or export of a client's record."""

from __future__ import annotations

from django.http import HttpRequest

from sessions_app.models import AccessLog, Client


def access_record(request: HttpRequest, action: str, *, client: Client | int | None, detail: str = "") -> AccessLog:
    """Who opened what of which client, from where: one INSERT. Called by the
    views that show or export clinical data, after their permission check."""
    client_id = client.pk if isinstance(client, Client) else client
    return AccessLog.objects.create(
        user=request.user,
        action=action,
        client_id=client_id,
        detail=detail[:200],
        path=request.get_full_path()[:500],
        ip_address=request.META.get("REMOTE_ADDR") or None,
    )
