"""The admin: every model's screens open, list pages cost the same number of
queries whatever the number of rows, clinical records cannot be deleted, and
bad input comes back as form errors with nothing saved."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from axes import models as axes_models
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.admin.base import EstimatedCountPaginator
from sessions_app.models import (
    AccessLog,
    CeilingDecision,
    Client,
    ClosedDay,
    Consent,
    ConsentText,
    Contraindication,
    Indication,
    Injection,
    InjectionQuantity,
    Mixture,
    MixtureComponent,
    OpeningHours,
    Product,
    ProductLot,
    Protocol,
    RecordDraft,
    Reminder,
    ReminderRule,
    ReminderStatus,
    Role,
    Room,
    Screening,
    ScreeningAnswer,
    SessionAmendment,
    SessionPhoto,
    SessionStatus,
    Severity,
    SideEffect,
    SideEffectKind,
    Substance,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.services.clients import client_archive

from .factories import (
    admin_url,
    book_session,
    inline,
    make_amendment,
    make_answer,
    make_ceiling_decision,
    make_cleared,
    make_client,
    make_consent,
    make_draft,
    make_injection,
    make_lot,
    make_photo,
    make_plan,
    make_protocol,
    make_quantity,
    make_reminder,
    make_screening,
    make_side_effect,
    make_user,
    next_weekday_at,
    session_form,
    split,
)

_n = itertools.count(1)


def _mixture_component():
    return MixtureComponent.objects.create(
        mixture=Mixture.objects.create(name=f"Mixture {next(_n)}"),
        product=Product.objects.get(name="Hyalu Meso 1%"),
        amount=Decimal("1.5"),
    )


# One new, distinct row of each registered model per call.
ROW_MAKERS = {
    User: lambda: make_user(Role.PRACTITIONER),
    Group: lambda: Group.objects.create(name=f"Group {next(_n)}"),
    TreatmentArea: lambda: TreatmentArea.objects.create(name=f"Area {next(_n)}", region="body"),
    Indication: lambda: Indication.objects.create(name=f"Indication {next(_n)}"),
    Substance: lambda: Substance.objects.create(name=f"Substance {next(_n)}", category="vitamin"),
    Product: lambda: Product.objects.create(name=f"Product {next(_n)}", manufacturer="Lab"),
    ProductLot: make_lot,
    SideEffectKind: lambda: SideEffectKind.objects.create(name=f"Kind {next(_n)}"),
    Room: lambda: Room.objects.create(name=f"Room x{next(_n)}"),
    OpeningHours: lambda: OpeningHours.objects.create(weekday=6, opens=dt.time(0, next(_n) % 60), closes=dt.time(1, 0)),
    ClosedDay: lambda: ClosedDay.objects.create(date=dt.date(2030, 1, 1) + dt.timedelta(days=next(_n))),
    Client: make_client,
    Screening: lambda: make_screening(days_ago=0, answered=False),
    ScreeningAnswer: make_answer,
    ConsentText: lambda: ConsentText.objects.create(
        version=100 + next(_n), title="Consent", body="…", effective_from=dt.date(2026, 1, 1)
    ),
    Consent: make_consent,
    Mixture: lambda: Mixture.objects.create(name=f"Mixture {next(_n)}", indication=Indication.objects.first()),
    MixtureComponent: _mixture_component,
    TreatmentPlan: make_plan,
    TreatmentSession: book_session,
    Injection: lambda: make_injection(book_session()),
    SideEffect: make_side_effect,
    Reminder: make_reminder,
    SessionAmendment: lambda: make_amendment(book_session()),
    SessionPhoto: lambda: make_photo(book_session()),
    AccessLog: lambda: AccessLog.objects.create(
        user=make_user(Role.RECEPTION), action="view_client", client=make_client(), path="/clients/1/"
    ),
    AccessAttempt: lambda: AccessAttempt.objects.create(
        username=f"guess{next(_n)}", ip_address="10.0.0.9", user_agent="curl", failures_since_start=3
    ),
    axes_models.AccessLog: lambda: axes_models.AccessLog.objects.create(
        username=f"staff{next(_n)}", ip_address="10.0.0.9", user_agent="Firefox"
    ),
    AccessFailureLog: lambda: AccessFailureLog.objects.create(
        username=f"guess{next(_n)}", ip_address="10.0.0.9", user_agent="curl"
    ),
    TOTPDevice: lambda: TOTPDevice.objects.create(user=make_user(Role.PRACTITIONER), name="Phone"),
    ReminderRule: lambda: ReminderRule.objects.create(
        name=f"Rule {next(_n)}", kind="aftercare_check", amount=2, by_call=True, body="Call {client_name}."
    ),
    Protocol: make_protocol,
    InjectionQuantity: make_quantity,
    CeilingDecision: make_ceiling_decision,
    RecordDraft: make_draft,
}


def test_every_registered_model_is_covered_here():
    assert set(ROW_MAKERS) == set(admin.site._registry) == set(EXPECTED_QUERIES)


def signed_in(request, model):
    """The manager's client; groups are shown to superusers only (their
    permissions come from sessions_app.roles, not from the admin)."""
    return request.getfixturevalue("admin_client" if model is Group else "manager_client")


# The queries of a changelist page, by name. Every page of a signed-in manager
# starts with SIGNED_IN; a superuser's permissions are all there are (a query of
# its own, not made here: no page asks).
SIGNED_IN = ["session", "user", "roles and permissions (one query, roles.load_access)"]
SUPERUSER = ["session", "user", "role names (navigation)"]
# Small tables show the unfiltered total beside the filtered count.
SMALL = ["count", "full count", "rows"]
# Big tables (BigTableAdmin): no full count, and the count is PostgreSQL's
# estimate once the unfiltered table is large.
BIG = ["count", "rows"]
# Small tables: Django's date hierarchy (first and last date, then the dates
# there are). Big ones (templatetags/admin_dates.py): the first and last date
# from an index, read once, whence the years, months or days.
SMALL_DATES = ["date hierarchy: first and last date", "date hierarchy: years, months or days"]
DATES = ["date hierarchy: first and last date, whence the years, months or days"]
EXPECTED_QUERIES = {
    User: [*SIGNED_IN, "groups filter", *SMALL, "every row's groups (one prefetch)"],
    Group: [*SUPERUSER, *SMALL],
    TreatmentArea: [*SIGNED_IN, *SMALL],
    Indication: [*SIGNED_IN, *SMALL],
    Substance: [*SIGNED_IN, *SMALL],
    Product: [*SIGNED_IN, *SMALL, "manufacturer filter"],
    ProductLot: [*SIGNED_IN, *SMALL, "manufacturer filter", *SMALL_DATES],
    SideEffectKind: [*SIGNED_IN, *SMALL],
    Room: [*SIGNED_IN, *SMALL],
    OpeningHours: [*SIGNED_IN, *SMALL],
    ClosedDay: [*SIGNED_IN, *SMALL, *SMALL_DATES],
    # Active clients by default: the count is of the filtered list.
    Client: [*SIGNED_IN, *BIG],
    Screening: [*SIGNED_IN, "screened-by filter", *BIG, *DATES],
    ScreeningAnswer: [*SIGNED_IN, *BIG],
    ConsentText: [*SIGNED_IN, *SMALL],
    Consent: [*SIGNED_IN, "consent text filter", *BIG, *DATES],
    Mixture: [*SIGNED_IN, "indication filter", *SMALL],
    MixtureComponent: [*SIGNED_IN, "mixture filter", *SMALL],
    TreatmentPlan: [*SIGNED_IN, "indication filter", "practitioner filter", *BIG, *DATES],
    TreatmentSession: [*SIGNED_IN, "practitioner filter", "room filter", *BIG, *DATES],
    # The session's date is a filter of fixed choices: no query.
    Injection: [*SIGNED_IN, "area filter", *BIG, "every row's lots (one prefetch)"],
    SideEffect: [*SIGNED_IN, "kind filter", *BIG, *DATES],
    Reminder: [*SIGNED_IN, *BIG, *DATES],
    SessionAmendment: [*SIGNED_IN, "amended-by filter (its users only)", *BIG, *DATES],
    SessionPhoto: [*SIGNED_IN, *BIG, *DATES],
    AccessLog: [*SIGNED_IN, "user filter (its users only)", *BIG, *DATES],
    # django-axes and django-otp's own screens.
    AccessAttempt: [*SIGNED_IN, *SMALL, "path filter", *SMALL_DATES],
    axes_models.AccessLog: [*SIGNED_IN, *SMALL, "path filter", *SMALL_DATES],
    AccessFailureLog: [*SIGNED_IN, *SMALL, "path filter", *SMALL_DATES],
    TOTPDevice: [*SIGNED_IN, *SMALL],
    ReminderRule: [*SIGNED_IN, *SMALL],
    Protocol: [*SIGNED_IN, *SMALL],
    InjectionQuantity: [*SIGNED_IN, *BIG],
    CeilingDecision: [*SIGNED_IN, "substance filter", *BIG, *DATES],
    RecordDraft: [*SIGNED_IN, *BIG, *DATES],
}


# Written by the app itself, never typed in: amendments and photos (the record
# page), the access log, sign-in attempts, authenticators (each user adds their own);
# staff accounts are added on the staff page.
NO_ADD = {
    User,
    Group,
    SessionAmendment,
    SessionPhoto,
    InjectionQuantity,
    CeilingDecision,
    RecordDraft,
    AccessLog,
    AccessAttempt,
    axes_models.AccessLog,
    AccessFailureLog,
    TOTPDevice,
}


def changelist_queries(client, model, **params) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(admin_url(model, "changelist"), params)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries], response


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(ROW_MAKERS), ids=lambda m: m.__name__)
def test_changelist_query_count_does_not_grow_with_rows(request, model):
    client = signed_in(request, model)
    make = ROW_MAKERS[model]
    make()
    one, _ = changelist_queries(client, model)
    for _ in range(29):
        make()
    many, response = changelist_queries(client, model)
    assert len(response.context["cl"].result_list) >= min(30, response.context["cl"].list_per_page)
    expected = EXPECTED_QUERIES[model]
    assert len(one) == len(many) == len(expected), "\n".join(many)


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(ROW_MAKERS), ids=lambda m: m.__name__)
def test_add_and_change_forms_open(request, model):
    client = signed_in(request, model)
    obj = ROW_MAKERS[model]()
    # Roles are code (sessions_app.roles): a group is never added here; amendments
    # and photos are written on the record page only.
    assert client.get(admin_url(model, "add")).status_code == (403 if model in NO_ADD else 200)
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.django_db
def test_client_search_finds_by_name_and_phone(manager_client):
    wanted = make_client(last_name="Zephyrine", phone="+33 6 12 34 56 78")
    make_client(last_name="Martin")
    for q in ("zephyr", "12 34 56"):
        _, response = changelist_queries(manager_client, Client, q=q)
        assert list(response.context["cl"].result_list) == [wanted]


CLINICAL = [Client, Screening, ScreeningAnswer, Consent, TreatmentPlan, TreatmentSession, Injection, SideEffect]


def action_names(response) -> set[str]:
    form = response.context["action_form"]  # None when the list has no action at all
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.django_db
@pytest.mark.parametrize("model", CLINICAL, ids=lambda m: m.__name__)
def test_clinical_records_cannot_be_deleted(manager_client, model):
    obj = ROW_MAKERS[model]()
    assert manager_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert manager_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    _, response = changelist_queries(manager_client, model)
    assert "delete_selected" not in action_names(response)


@pytest.mark.django_db
def test_reference_data_keeps_its_bulk_delete(manager_client):
    # The other side of the rule above: only clinical records lose it.
    _, response = changelist_queries(manager_client, Room)
    assert "delete_selected" in action_names(response)


def run_action(client, action: str, clients, **params):
    """Post an action from the client list, with the list's filters in the URL
    as the admin does (the action applies to what the filtered list shows)."""
    return client.post(
        f"{admin_url(Client, 'changelist')}?{urlencode(params)}",
        {"action": action, "_selected_action": [c.pk for c in clients]},
    )


@pytest.mark.django_db
def test_archive_and_restore_actions(manager_client, manager):
    archived, kept = make_client(), make_client()

    response = run_action(manager_client, "archive", [archived])
    assert response.status_code == 302
    archived.refresh_from_db()
    kept.refresh_from_db()
    assert archived.is_archived and not kept.is_archived
    # Who archived is on record, and the history page shows it.
    assert archived.history.first().history_user == manager
    assert str(manager) in manager_client.get(admin_url(Client, "history", archived.pk)).content.decode()

    # Active clients by default; the archived ones one filter away.
    _, response = changelist_queries(manager_client, Client)
    assert archived not in response.context["cl"].result_list
    _, response = changelist_queries(manager_client, Client, archived="yes")
    assert list(response.context["cl"].result_list) == [archived]

    run_action(manager_client, "restore", [archived], archived="yes")
    archived.refresh_from_db()
    assert not archived.is_archived


@pytest.mark.django_db
def test_archiving_twice_keeps_the_first_date(manager):
    first = client_archive(client=make_client(), by=manager)
    again = client_archive(client=first, by=manager)
    assert again.archived_at == first.archived_at
    assert first.history.count() == 2  # created, archived


def injection_row(**changes) -> dict:
    return {
        "area": TreatmentArea.objects.get(name="Face").pk,
        "lots": [make_lot().pk],
        "volume_ml": "2.0",
        "depth": "dej",
        "technique": "nappage",
        "needle_length_mm": "4",
        "points": "30",
        **changes,
    }


def snapshot(session: TreatmentSession) -> tuple:
    session = TreatmentSession.objects.get(pk=session.pk)
    return (
        session.sequence,
        session.starts_at,
        session.ends_at,
        session.pain_score,
        session.status,
        session.history.count(),
        session.injections.count(),
        session.side_effects.count(),
    )


def arrived_session() -> TreatmentSession:
    """A session the client arrived for an hour ago: one that can have caused a side effect."""
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    return book_session(starts_at=start, status=SessionStatus.ARRIVED)


def side_effect_row(**changes) -> dict:
    kind = SideEffectKind.objects.get(name="Bruising")
    return {"kind": kind.pk, "severity": "mild", "onset": f"{timezone.localdate():%Y-%m-%d}", **changes}


@pytest.mark.django_db
def test_a_valid_session_form_saves_the_session_and_its_inlines(manager_client, manager):
    # The control for the refusals below: the same form, valid, is accepted.
    session = arrived_session()
    data = session_form(session, pain_score=3, injections=[injection_row()], side_effects=[side_effect_row()])
    response = manager_client.post(admin_url(TreatmentSession, "change", session.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    session.refresh_from_db()
    assert session.pain_score == 3
    assert session.injections.get().lots.count() == 1
    # Recorded through side_effect_record, as the staff pages record one.
    side_effect = session.side_effects.get()
    assert (side_effect.client, side_effect.recorded_by) == (session.plan.client, manager)
    assert side_effect.expected_resolution_on == timezone.localdate() + dt.timedelta(
        days=side_effect.kind.expected_days
    )
    assert side_effect.history.get().history_user == manager


@pytest.mark.django_db
def test_a_session_ahead_offers_no_side_effect_and_a_forged_one_is_not_saved(manager_client):
    session = book_session()  # booked, two days ahead
    page = manager_client.get(admin_url(TreatmentSession, "change", session.pk)).content.decode()
    assert "side_effects-empty" not in page  # no row to add
    data = session_form(session, pain_score=4, side_effects=[side_effect_row()])
    assert manager_client.post(admin_url(TreatmentSession, "change", session.pk), data).status_code == 302
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_a_side_effect_added_to_a_session_is_refused_beside_its_field(manager_client):
    session = arrived_session()
    before = snapshot(session)
    for row, message in (
        (side_effect_row(onset="2099-01-01"), "The onset cannot be in the future."),
        (side_effect_row(onset="2020-01-01"), "The onset cannot be before the session."),
        (side_effect_row(resolved_on="2099-01-01"), "The date it resolved cannot be in the future."),
    ):
        data = session_form(session, pain_score=4, side_effects=[row])
        response = manager_client.post(admin_url(TreatmentSession, "change", session.pk), data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert snapshot(session) == before  # nothing saved, the session's change neither


@pytest.mark.django_db
def test_a_side_effect_the_service_refuses_after_the_form_accepted_it_saves_nothing(manager_client, monkeypatch):
    """The form asks the rule, then the service asks it again under its lock:
    when the session changed in between (here, the form's check is skipped),
    the service's refusal rolls the whole save back and says so."""
    import sessions_app.admin.side_effects as side_effect_admin

    monkeypatch.setattr(side_effect_admin, "side_effect_refusals", lambda **kwargs: {})
    session = book_session()  # two days ahead: no side effect can follow it
    before = snapshot(session)
    data = session_form(session, pain_score=4, side_effects=[side_effect_row()])
    response = manager_client.post(admin_url(TreatmentSession, "change", session.pk), data, follow=True)
    assert "Nothing was saved: Choose one of the client" in response.content.decode()
    assert snapshot(session) == before
    # The side effects' own admin, the same.
    data = side_effect_admin_form(client=session.plan.client_id, session=session.pk, **side_effect_row())
    response = manager_client.post(admin_url(SideEffect, "add"), data, follow=True)
    assert "Nothing was saved: Choose one of the client" in response.content.decode()
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_session_change_form_reads_reference_data_once_per_page(manager_client):
    """Areas, side-effect kinds and each row's lots are read once per page; the
    lots autocomplete widget still looks up its row's selected lots, so the
    form costs one query more per injection."""
    session = book_session()
    areas = list(TreatmentArea.objects.order_by("name")[:5])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager_client.get(admin_url(TreatmentSession, "change", session.pk)).status_code == 200
        return len(ctx.captured_queries)

    make_injection(session, area=areas[0])
    make_side_effect(session)
    queries()  # warms the process's content-type cache, cold when this test runs first in its process
    one = queries()
    for area in areas[1:]:
        make_injection(session, area=area)
        make_side_effect(session)
    assert queries() == one + 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "after"),
    [("cancelled", "booked"), ("no_show", "confirmed"), ("confirmed", "booked"), ("arrived", "cancelled")],
)
def test_the_session_form_refuses_a_status_change_no_action_allows(manager_client, before, after):
    session = book_session(status=before)
    snapshot_before = snapshot(session)
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), session_form(session, status=after)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["status"] == [f"A session that is {before.replace('_', '-')} cannot be marked {after}."]
    assert snapshot(session) == snapshot_before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "after", "extra"),
    [("booked", "confirmed", {}), ("confirmed", "arrived", {}), ("booked", "cancelled", {"cancellation": "late"})],
)
def test_the_session_form_makes_a_status_change_an_action_allows(manager_client, manager, before, after, extra):
    # Arrived only on the session's day: this one is today, in an hour's time.
    starts_at = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1) if after == "arrived" else None
    if starts_at and timezone.localtime(starts_at).date() != timezone.localdate():
        starts_at -= dt.timedelta(hours=2)  # late in the evening: an hour ago instead
    session = book_session(status=before, **({"starts_at": starts_at} if starts_at else {}))
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), session_form(session, status=after, **extra)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    session.refresh_from_db()
    assert session.status == after
    # Through the status service, as the schedule's buttons: who and when, undoable by them.
    assert (session.status_changed_by, session.undo_status) == (manager, before)
    assert session.cancellation == extra.get("cancellation", "")


@pytest.mark.django_db
def test_the_session_form_refuses_an_arrival_on_another_day_than_the_session(manager_client):
    session = book_session(status="confirmed", starts_at=next_weekday_at(10, weekday=0))
    before = snapshot(session)
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), session_form(session, status="arrived")
    )
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["status"]
    assert error.startswith(f"This session is on {timezone.localtime(session.starts_at):%A %d %B %Y}")
    assert "marked arrived only on that day" in error
    assert snapshot(session) == before


@pytest.mark.django_db
def test_the_session_form_asks_who_cancelled(manager_client):
    session = book_session()
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), session_form(session, status="cancelled")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["cancellation"] == ["Say who cancelled the session."]
    session.refresh_from_db()
    assert session.status == "booked"


BAD_SESSION_INPUT = {
    "pain score 11": ({"pain_score": 11}, "Ensure this value is less than or equal to 10."),
    "sequence 0": ({"sequence": 0}, "Ensure this value is greater than or equal to 1."),
    "ends before it starts": ({"ends_at": "starts_at - 1h"}, "A session must end after it starts."),
    "completed here, not signed": ({"status": SessionStatus.COMPLETED}, "A session is completed by signing its record"),
    "needle 14 mm (inline)": ({"injections": [{"needle_length_mm": "14"}]}, "less than or equal to 13"),
    "negative volume (inline)": ({"injections": [{"volume_ml": "-1"}]}, "greater than or equal to 0.01"),
}


def bad_session_form(session: TreatmentSession, changes: dict) -> dict:
    changes = dict(changes)
    if changes.get("ends_at") == "starts_at - 1h":
        changes["ends_at"] = session.starts_at - dt.timedelta(hours=1)
    injections = [injection_row(**row) for row in changes.pop("injections", [])]
    return session_form(session, injections=injections, **changes)


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "error"), BAD_SESSION_INPUT.values(), ids=BAD_SESSION_INPUT)
def test_bad_session_input_is_a_form_error_and_saves_nothing(manager_client, changes, error):
    session = book_session()
    before = snapshot(session)
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), bad_session_form(session, changes)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert snapshot(session) == before


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "error"), BAD_SESSION_INPUT.values(), ids=BAD_SESSION_INPUT)
def test_bad_input_on_the_session_add_form_creates_nothing(manager_client, changes, error):
    # A session is built but not saved, to fill the form; sequence 1 of a new plan.
    session = TreatmentSession(
        plan=make_plan(),
        sequence=1,
        starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=30),
        ends_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=30, minutes=45),
        practitioner=make_user(Role.PRACTITIONER),
        room=Room.objects.get(name="Room 2"),
    )
    counts = TreatmentSession.objects.count(), Injection.objects.count()
    response = manager_client.post(admin_url(TreatmentSession, "add"), bad_session_form(session, changes))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (TreatmentSession.objects.count(), Injection.objects.count()) == counts


@pytest.mark.django_db
def test_a_double_booking_is_a_form_error(manager_client):
    booked = book_session()
    other = book_session(practitioner=booked.practitioner, room=Room.objects.get(name="Room 2"))
    before = snapshot(other)
    data = session_form(other, starts_at=booked.starts_at + dt.timedelta(minutes=15), ends_at=booked.ends_at)
    response = manager_client.post(admin_url(TreatmentSession, "change", other.pk), data)
    assert response.status_code == 200
    assert "is already booked then" in response.content.decode()
    assert snapshot(other) == before


def injection_form(session: TreatmentSession, **changes) -> dict:
    return {"session": session.pk, **injection_row(**changes)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({}, None),
        ({"needle_length_mm": "14"}, "less than or equal to 13"),
        ({"volume_ml": "-1"}, "greater than or equal to 0.01"),
        ({"points": "0"}, "greater than or equal to 1"),
    ],
    ids=["valid", "needle 14 mm", "negative volume", "no points"],
)
def test_injection_add_form(manager_client, changes, error):
    session = book_session()
    response = manager_client.post(admin_url(Injection, "add"), injection_form(session, **changes))
    if error is None:
        assert response.status_code == 302
        assert session.injections.count() == 1
    else:
        assert response.status_code == 200
        assert error in response.content.decode()
        assert not session.injections.exists()


@pytest.mark.django_db
def test_screening_answers_take_their_severity_from_the_question(manager_client, manager):
    client = make_client()
    data = {
        "client": client.pk,
        **split("screened_at", timezone.now()),
        "screened_by": manager.pk,
        "notes": "",
        **inline(
            "answers",
            [
                {"question": Contraindication.PREGNANCY, "answer": "on"},
                {"question": Contraindication.DIABETES, "answer": "on"},
            ],
        ),
    }
    response = manager_client.post(admin_url(Screening, "add"), data)
    assert response.status_code == 302
    answers = dict(ScreeningAnswer.objects.filter(screening__client=client).values_list("question", "severity"))
    assert answers == {Contraindication.PREGNANCY: Severity.ABSOLUTE, Contraindication.DIABETES: Severity.RELATIVE}


@pytest.mark.django_db
def test_reminder_delivery_state_is_read_only(manager_client):
    reminder = make_reminder()
    response = manager_client.get(admin_url(Reminder, "change", reminder.pk))
    editable = set(response.context["adminform"].form.fields)
    assert editable.isdisjoint({"status", "attempts", "sent_at", "last_error", "claimed_at", "key"})

    # A posted status is ignored; the due time, which a manager may move, is saved.
    due = reminder.due_at + dt.timedelta(days=1)
    data = {
        "client": reminder.client_id,
        "plan": "",
        "session": "",
        "kind": reminder.kind,
        "channel": reminder.channel,
        **split("due_at", due),
        "status": ReminderStatus.SENT,
        "attempts": "3",
    }
    response = manager_client.post(admin_url(Reminder, "change", reminder.pk), data)
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.due_at == due.replace(microsecond=0)
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 0)


@pytest.mark.django_db
def test_the_user_page_shows_the_clinic_fields_and_roles(manager_client):
    """Read-only: staff are managed on the staff page (tests/test_staff.py)."""
    user = make_user(Role.PRACTITIONER, job_title="Nurse injector", registration_number="RPPS-123")
    response = manager_client.get(admin_url(User, "change", user.pk))
    fields = {name for fieldset in response.context["adminform"] for line in fieldset for name in line.fields}
    assert {"job_title", "phone", "registration_number", "roles", "staff_page"} <= fields
    _, response = changelist_queries(manager_client, User, q="RPPS-123")
    assert list(response.context["cl"].result_list) == [user]
    assert "Practitioner" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_big_unfiltered_tables_are_counted_from_postgres_statistics(monkeypatch):
    for _ in range(30):
        make_client()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_client")
    for _ in range(5):
        make_client()  # not in the statistics yet
    assert EstimatedCountPaginator(Client.objects.all(), 10).count == 35  # small: exact

    monkeypatch.setattr(EstimatedCountPaginator, "estimate_above", 10)
    assert EstimatedCountPaginator(Client.objects.all(), 10).count == 30  # the estimate
    # A filtered list is counted, exactly up to count_at_most rows.
    filtered = EstimatedCountPaginator(Client.objects.filter(first_name="Alex"), 10)
    assert (filtered.count, filtered.capped) == (35, False)


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_a_big_filtered_list_is_counted_up_to_a_bound_and_says_more_than(manager_client, monkeypatch):
    """The clients' default list (the active ones) counted every active client
    on every page: 100,000 rows read at a chain's size."""
    monkeypatch.setattr(EstimatedCountPaginator, "count_at_most", 3)
    for _ in range(5):
        make_client()
    sql, response = changelist_queries(manager_client, Client)
    [count] = [q for q in sql if "COUNT(" in q.upper()]
    assert "LIMIT 4" in count, count
    page = response.content.decode()
    assert "More than 3 clients" in page
    assert "Select all clients of the list (more than 3)" in page
    assert "5 clients" not in page and "4 clients" not in page
    # Under the bound: the exact count, as before.
    monkeypatch.setattr(EstimatedCountPaginator, "count_at_most", 10)
    _, response = changelist_queries(manager_client, Client)
    assert "5 clients" in response.content.decode()
    assert not response.context["cl"].paginator.capped


@pytest.mark.django_db
def test_the_admin_shows_the_treatment_rule_and_leaves_completing_to_the_record_page(manager_client):
    session = book_session()
    page = manager_client.get(admin_url(TreatmentSession, "change", session.pk)).content.decode()
    assert "No screening on record." in page  # the same verdict as the schedule's badge
    assert reverse("session_record", args=[session.pk]) in page

    make_cleared(session.plan)
    assert "Yes." in manager_client.get(admin_url(TreatmentSession, "change", session.pk)).content.decode()
    data = session_form(session, status=SessionStatus.COMPLETED, completed_at=session.ends_at)
    response = manager_client.post(admin_url(TreatmentSession, "change", session.pk), data)
    assert response.status_code == 200
    assert "A session is completed by signing its record" in response.content.decode()
    session.refresh_from_db()
    assert session.status != SessionStatus.COMPLETED


@pytest.mark.django_db
def test_a_signed_record_is_read_only_in_the_admin(manager_client):
    session = book_session(status=SessionStatus.COMPLETED, pain_score=3)
    injection = make_injection(session)
    page = manager_client.get(admin_url(TreatmentSession, "change", session.pk)).content.decode()
    assert 'name="pain_score"' not in page and "Open the signed record" in page
    manager_client.post(admin_url(TreatmentSession, "change", session.pk), session_form(session, pain_score=9))
    session.refresh_from_db()
    assert session.pain_score == 3
    before = injection.volume_ml
    manager_client.post(admin_url(Injection, "change", injection.pk), injection_form(session, volume_ml="9"))
    injection.refresh_from_db()
    assert injection.volume_ml == before


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["inline", "injection form"])
def test_the_admin_refuses_a_lot_the_lot_rule_refuses(manager_client, where):
    session = book_session()
    other = make_lot(Product.objects.get(name="Lipo PC"), lot_number="LIPO-7")
    if where == "inline":
        data = session_form(session, injections=[injection_row(lots=[other.pk])])
        response = manager_client.post(admin_url(TreatmentSession, "change", session.pk), data)
    else:
        response = manager_client.post(admin_url(Injection, "add"), injection_form(session, lots=[other.pk]))
    assert response.status_code == 200
    assert "Lipo PC lot LIPO-7 is not a product of this plan&#x27;s mixture." in response.content.decode()
    assert not session.injections.exists()


# --- Reference data and records that name each other ---------------------------


def linked_rows():
    """A lot an injection used, a substance a client is allergic to, an area of a plan."""
    session = book_session()
    lot = make_lot(lot_number="RECALL-1")
    make_injection(session, lots=[lot])
    substance = Substance.objects.create(name="Benzyl alcohol", category="medication")
    session.plan.client.allergies.add(substance)
    area = TreatmentArea.objects.create(name="Ankles", region="joint")
    session.plan.areas.add(area)
    return {ProductLot: lot, Substance: substance, TreatmentArea: area}


@pytest.mark.django_db
@pytest.mark.parametrize("model", [ProductLot, Substance, TreatmentArea], ids=lambda m: m.__name__)
def test_reference_rows_that_records_name_cannot_be_deleted(manager_client, model):
    obj = linked_rows()[model]
    page = manager_client.get(admin_url(model, "delete", obj.pk)).content.decode()
    assert "would require deleting the following protected related objects" in page
    manager_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    manager_client.post(admin_url(model, "changelist"), bulk)
    assert model.objects.filter(pk=obj.pk).exists()
    # The links are all still there: the recall finds the client, the allergy stands.
    assert Injection.objects.filter(lots__lot_number="RECALL-1").exists()
    assert Client.objects.filter(allergies__name="Benzyl alcohol").exists()
    assert TreatmentPlan.objects.filter(areas__name="Ankles").exists()


@pytest.mark.django_db
def test_an_unlinked_reference_row_is_still_deleted(manager_client):
    lot = make_lot()
    manager_client.post(admin_url(ProductLot, "delete", lot.pk), {"post": "yes"})
    assert not ProductLot.objects.filter(pk=lot.pk).exists()


@pytest.mark.django_db
def test_a_consent_text_clients_signed_is_never_edited(manager_client):
    text = ConsentText.objects.create(version=7, title="Consent", body="As signed", effective_from=dt.date(2026, 1, 1))
    data = {"version": 7, "title": "Consent", "body": "Rewritten", "effective_from": "2026-01-01"}
    assert manager_client.post(admin_url(ConsentText, "change", text.pk), data).status_code == 302  # not signed yet
    make_consent(make_plan(), consent_text=text)
    page = manager_client.get(admin_url(ConsentText, "change", text.pk)).content.decode()
    assert 'name="body"' not in page
    manager_client.post(admin_url(ConsentText, "change", text.pk), {**data, "body": "Changed after signing"})
    text.refresh_from_db()
    assert text.body == "Rewritten"
    assert manager_client.post(admin_url(ConsentText, "delete", text.pk), {"post": "yes"}).status_code == 403


def side_effect_admin_form(effect: SideEffect | None = None, **changes) -> dict:
    data = {}
    if effect:
        related = ("client", "session", "kind", "area", "suspected_product", "suspected_substance")
        data = {name: getattr(effect, f"{name}_id") or "" for name in related}
        data |= {"severity": effect.severity, "onset": f"{effect.onset:%Y-%m-%d}", "notes": effect.notes}
    return {k: v for k, v in (data | changes).items() if v is not None}


@pytest.mark.django_db
def test_the_side_effect_admin_records_through_the_service(manager_client, manager):
    session = arrived_session()
    data = side_effect_admin_form(client=session.plan.client_id, session=session.pk, **side_effect_row())
    response = manager_client.post(admin_url(SideEffect, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    effect = SideEffect.objects.get()
    assert (effect.status, effect.recorded_by, effect.source) == ("open", manager, "staff")
    assert effect.expected_resolution_on == effect.onset + dt.timedelta(days=effect.kind.expected_days)
    # Resolved when it comes with the day it resolved.
    data |= {"resolved_on": f"{timezone.localdate():%Y-%m-%d}"}
    assert manager_client.post(admin_url(SideEffect, "add"), data).status_code == 302
    assert SideEffect.objects.filter(status="resolved", resolved_on=timezone.localdate()).count() == 1


@pytest.mark.django_db
def test_the_side_effect_admin_refuses_a_session_ahead_beside_its_field(manager_client):
    ahead = book_session()
    missed = arrived_session()
    missed.status = SessionStatus.NO_SHOW
    missed.save()
    for session in (ahead, missed):
        data = side_effect_admin_form(client=session.plan.client_id, session=session.pk, **side_effect_row())
        response = manager_client.post(admin_url(SideEffect, "add"), data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "past sessions in which they were treated" in " ".join(errors["session"])
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_the_side_effect_admin_changes_its_course_only_on_its_page(manager_client, manager):
    effect = make_side_effect(arrived_session())
    page = manager_client.get(admin_url(SideEffect, "change", effect.pk)).content.decode()
    for field in ("status", "resolved_on", "reviewed_by", "client"):
        assert f'name="{field}"' not in page, field
    assert reverse("side_effect_detail", args=[effect.pk]) in page
    # A forged status and resolution are not taken; an edit goes through side_effect_update.
    kind = SideEffectKind.objects.get(name="Swelling")
    data = side_effect_admin_form(
        effect, kind=kind.pk, status="resolved", resolved_on=f"{timezone.localdate():%Y-%m-%d}"
    )
    assert manager_client.post(admin_url(SideEffect, "change", effect.pk), data).status_code == 302
    effect.refresh_from_db()
    assert (effect.kind, effect.status, effect.resolved_on) == (kind, "open", None)
    assert effect.expected_resolution_on == effect.onset + dt.timedelta(days=kind.expected_days)
    assert effect.history.latest().history_user == manager
    # The onset's rule, beside the field.
    data = side_effect_admin_form(effect, onset="2099-01-01")
    response = manager_client.post(admin_url(SideEffect, "change", effect.pk), data)
    assert "The onset cannot be in the future." in " ".join(response.context["adminform"].form.errors["onset"])


@pytest.mark.django_db
def test_a_side_effect_cannot_name_another_clients_session(manager_client):
    effect = make_side_effect()
    other = book_session()
    data = {
        "client": effect.client_id,
        "session": other.pk,
        "kind": effect.kind_id,
        "severity": "mild",
        "onset": f"{timezone.localdate():%Y-%m-%d}",
    }
    response = manager_client.post(admin_url(SideEffect, "change", effect.pk), data)
    assert response.status_code == 200
    assert "past sessions in which they were treated" in " ".join(response.context["adminform"].form.errors["session"])
    effect.refresh_from_db()
    assert effect.session_id != other.pk


@pytest.mark.django_db
def test_only_practitioners_treat_and_dates_of_birth_are_checked(manager_client):
    session = book_session()
    receptionist = make_user(Role.RECEPTION)
    response = manager_client.post(
        admin_url(TreatmentSession, "change", session.pk), session_form(session, practitioner=receptionist.pk)
    )
    assert "practitioner" in response.context["adminform"].form.errors
    client = make_client()
    data = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "preferred_channel": "email",
        "date_of_birth": f"{timezone.localdate() + dt.timedelta(days=1):%Y-%m-%d}",
    }
    response = manager_client.post(admin_url(Client, "change", client.pk), data)
    assert "A date of birth cannot be in the future." in response.content.decode()


@pytest.mark.django_db
def test_nothing_is_injected_in_a_cancelled_session(manager_client):
    session = book_session(status=SessionStatus.CANCELLED)
    response = manager_client.post(admin_url(Injection, "add"), injection_form(session))
    assert "A cancelled session has nothing injected to record." in response.content.decode()
    assert not session.injections.exists()


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_a_booking_made_in_the_same_instant_is_a_message_not_a_500(manager_client, monkeypatch):
    """The form's clash checks pass (as they would for two managers saving at
    once); PostgreSQL's exclusion constraint refuses, and nothing is saved."""
    from sessions_app.models.plans import TreatmentSessionQuerySet

    booked = book_session()
    other = book_session(practitioner=booked.practitioner, room=Room.objects.get(name="Room 2"))
    monkeypatch.setattr(TreatmentSessionQuerySet, "conflicting", lambda self, **kw: self.none())
    data = session_form(other, starts_at=booked.starts_at, ends_at=booked.ends_at, notes="moved")
    response = manager_client.post(admin_url(TreatmentSession, "change", other.pk), data, follow=True)
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    other.refresh_from_db()
    assert other.notes != "moved"


def choices(response) -> list[str]:
    """The date drill-down's links (the context of Django's date_hierarchy.html)."""
    [context] = [c for c in response.context if "back" in c and "field_name" in c]
    return [choice["title"] for choice in context["choices"]]


@pytest.mark.django_db
def test_big_tables_drill_down_through_dates_without_reading_every_row(manager_client):
    paris = timezone.get_current_timezone()
    for when in (dt.datetime(2024, 3, 5, 10), dt.datetime(2026, 1, 20, 9), dt.datetime(2026, 3, 2, 18)):
        make_reminder(due_at=when.replace(tzinfo=paris))

    top_sql, top = changelist_queries(manager_client, Reminder)
    # Every year from the first to the last, from two index reads, not a DISTINCT over the rows.
    assert choices(top) == ["2024", "2025", "2026"]
    # Django asks for the first and last date, then for the years: one read serves both.
    assert len([q for q in top_sql if "MIN(" in q.upper()]) == 1, top_sql
    sql, year = changelist_queries(manager_client, Reminder, due_at__year=2026)
    assert choices(year) == ["January 2026", "February 2026", "March 2026"]
    assert not any("DISTINCT" in q for q in sql)
    assert len(year.context["cl"].result_list) == 2
    _, month = changelist_queries(manager_client, Reminder, due_at__year=2026, due_at__month=1)
    assert choices(month) == ["20 January"]
    # An unfiltered list whose dates all fall in one year opens on its months, from the same one read.
    Reminder.objects.filter(due_at__year=2024).delete()
    one_year_sql, one_year = changelist_queries(manager_client, Reminder)
    assert choices(one_year) == ["January 2026", "February 2026", "March 2026"]
    assert len([q for q in one_year_sql if "MIN(" in q.upper()]) == 1, one_year_sql


@pytest.mark.django_db
def test_big_tables_write_the_row_checkbox_exactly_as_django_renders_it():
    session = book_session()
    ours = admin.site._registry[TreatmentSession]
    assert ours.action_checkbox(session) == admin.ModelAdmin.action_checkbox(ours, session)


DRILL_DOWNS = [model for model, model_admin in admin.site._registry.items() if model_admin.date_hierarchy]


@pytest.mark.django_db
@pytest.mark.parametrize("model", DRILL_DOWNS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "params",
    [{"year": "9999"}, {"year": "9999", "month": "12"}, {"year": "9999", "month": "12", "day": "31"}, {"year": "0"}],
    ids=lambda p: "-".join(p.values()),
)
def test_a_date_drill_down_past_the_calendar_is_refused_not_a_500(request, model, params):
    """Django 6.1 builds the next year (10000) or month from the typed date
    without catching the overflow: a 500 on every list with a date drill-down."""
    field = admin.site._registry[model].date_hierarchy
    query = urlencode({f"{field}__{part}": value for part, value in params.items()})
    response = signed_in(request, model).get(f"{admin_url(model, 'changelist')}?{query}")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1"), "Django's own answer to a bad filter: the list, with a message"


@pytest.mark.django_db
def test_a_merged_record_is_not_restored(manager_client, manager):
    from sessions_app.services.clients import client_merge

    kept, merged = make_client(), make_client()
    client_merge(keep_id=kept.pk, merge_id=merged.pk, by=manager)
    response = run_action(manager_client, "restore", [merged], archived="yes")
    assert response.status_code == 302
    merged.refresh_from_db()
    assert merged.is_archived and merged.merged_into == kept


@pytest.mark.django_db
def test_phones_to_check_and_the_admin_writes_through_the_service(manager_client, manager):
    readable = make_client(last_name="Zéphyrine")
    kept_as_typed = make_client()
    Client.objects.filter(pk=kept_as_typed.pk).update(phone="ask reception")
    _, response = changelist_queries(manager_client, Client, phone_check="to_check")
    assert list(response.context["cl"].result_list) == [Client.objects.get(pk=kept_as_typed.pk)]
    assert readable not in response.context["cl"].result_list
    # The admin's search is the staff pages' one; its edits go through the service.
    _, response = changelist_queries(manager_client, Client, q="ZEPHYRINE")
    assert list(response.context["cl"].result_list) == [readable]


@pytest.mark.django_db
def test_the_admin_edits_a_client_through_the_service_with_its_version(manager_client, manager):
    patient = make_client()
    data = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "phone": "06 44 55 66 77",
        "address": "",
        "preferred_channel": "email",
        "notes": "",
        "loaded_version": patient.version,
    }
    response = manager_client.post(admin_url(Client, "change", patient.pk), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+33644556677" and patient.version == 2
    assert patient.history.first().history_user == manager
    # The same form again, on the version it was opened on: refused, nothing saved.
    response = manager_client.post(admin_url(Client, "change", patient.pk), {**data, "phone": "06 00 00 00 01"})
    assert response.status_code == 200 and "while you were editing" in response.content.decode()
    patient.refresh_from_db()
    assert patient.phone == "+33644556677"
