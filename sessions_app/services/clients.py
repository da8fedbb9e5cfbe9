"""Archiving and restoring clients: the only way a client leaves the lists.

Clients are never deleted (their clinical record must stay whole); an archived
client keeps every screening, plan, session and side effect.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Client, User


def _save_archived_at(client: Client, by: User) -> None:
    # simple_history reads the acting user from here when no request is around
    # (management commands, shell); the admin's middleware would set it anyway.
    client._history_user = by
    client.save(update_fields=["archived_at", "updated_at"])


@transaction.atomic
def client_archive(*, client: Client, by: User) -> Client:
    """Archive a client. Archiving an archived client changes nothing, so the
    first archiving date (and its history row) stays the true one."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.archived_at is None:
        client.archived_at = timezone.now()
        _save_archived_at(client, by)
    return client


class ErasedClient(Exception):
    """A client whose contact data a privacy request erased stays archived."""


@transaction.atomic
def client_restore(*, client: Client, by: User) -> Client:
    """Bring an archived client back into the lists; a no-op for an active one.
    ErasedClient for a client erased at their request."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.is_erased:
        raise ErasedClient(f"{client.full_name} was erased at their request and stays archived.")
    if client.archived_at is not None:
        client.archived_at = None
        _save_archived_at(client, by)
    return client
