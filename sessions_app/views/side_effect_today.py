"""What Today shows of side effects, apart from the open ones' panel: new
signal flags, severe check-ins waiting for review, and how many side effects
are past their expected time. A context function and its own template
(dashboard/_side_effects_today.html), so the dashboard adds one line each."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from sessions_app.models import SideEffect, SideEffectSeverity, SideEffectSource
from sessions_app.services.signal import new_flags

# Rows each list shows; the count says how many in all.
SHOWN = 5


def side_effects_today(user) -> dict:
    """For staff who may read side effects (practitioners, managers): three
    queries whatever the number of side effects, each read from an index."""
    if not user.has_perm("sessions_app.view_sideeffect"):
        return {}
    overdue = Q(resolved_on__isnull=True, expected_resolution_on__lt=timezone.localdate())
    urgent = Q(source=SideEffectSource.CHECK_IN, severity=SideEffectSeverity.SEVERE, reviewed_at__isnull=True)
    counts = SideEffect.objects.filter(overdue | urgent).aggregate(
        overdue=Count("pk", filter=overdue), urgent=Count("pk", filter=urgent)
    )
    urgent_rows = []
    if counts["urgent"]:
        urgent_rows = list(
            SideEffect.objects.filter(urgent).select_related("client", "kind").order_by("-recorded_at", "-pk")[:SHOWN]
        )
    return {
        "signal_flags": list(new_flags()[:SHOWN]),
        "overdue_side_effects_total": counts["overdue"],
        "urgent_check_ins": urgent_rows,
        "urgent_check_ins_total": counts["urgent"],
    }
