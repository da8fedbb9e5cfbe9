"""What booking a series starts from: the protocol of each indication
(models.protocols.Protocol, which managers edit in the admin)."""

from __future__ import annotations

from sessions_app.models import Protocol
from sessions_app.scheduling import IntervalUnit


def booking_defaults(protocol: Protocol) -> dict:
    """The booking form's fields as the protocol fills them (needs the
    protocol's areas prefetched): mixture, areas, sessions, interval (in weeks
    when it is whole weeks) and maintenance."""
    weeks, days = divmod(protocol.interval_days, 7)
    interval, unit = (weeks, IntervalUnit.WEEKS) if days == 0 else (protocol.interval_days, IntervalUnit.DAYS)
    return {
        "mixture": protocol.mixture_id,
        "areas": sorted(area.pk for area in protocol.areas.all() if area.active),
        "sessions": protocol.sessions,
        "interval": interval,
        "interval_unit": str(unit),
        "maintenance_interval_days": protocol.maintenance_interval_days,
    }


def booking_defaults_by_indication() -> dict[int, dict]:
    """Every active indication's protocol, as booking_defaults: two queries."""
    protocols = Protocol.objects.filter(indication__active=True, mixture__active=True).prefetch_related("areas")
    return {protocol.indication_id: booking_defaults(protocol) for protocol in protocols}
