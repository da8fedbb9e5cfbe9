"""The Django admin: every model, for the clinic manager.

Clinical records (clients, screenings, consents, plans, sessions, injections,
side effects) keep their history and cannot be deleted here; big tables skip
the full COUNT(*) on each page. One module per area of the domain.
"""

from . import audit, catalog, clients, plans, records, reminders, side_effects, staff

__all__ = ["audit", "catalog", "clients", "plans", "records", "reminders", "side_effects", "staff"]
