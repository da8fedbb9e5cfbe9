"""A side effect from first report to resolution (issue 16): its status changes,
follow-ups with a photo, the expected-resolution call, the allergy loop, the
cause offered, editing with history, the list's filters."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sessions_app.clearance import Clearance
from sessions_app.models import (
    Mixture,
    Reminder,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Role,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    SideEffectStatus,
    Substance,
)
from sessions_app.reminders.calls import call_list
from sessions_app.reminders.generate import reminders_cancel_obsolete, reminders_generate
from sessions_app.services.clearance import clearance
from sessions_app.services.records import LotContext, NotCleared, lots_offered
from sessions_app.services.side_effects import (
    SideEffectRefused,
    client_allergy_from_side_effect,
    side_effect_follow_up,
    side_effect_record,
    side_effect_review,
    side_effect_update,
)
from sessions_app.side_effect_course import expected_resolution, severity_from_score

from .factories import (
    book_session,
    done_session,
    image_bytes,
    make_cleared,
    make_client,
    make_injection,
    make_lot,
    make_plan,
    make_user,
    sign_record,
)

# --- Plain values -------------------------------------------------------------------------


def test_expected_resolution_and_the_severity_of_a_score():
    assert expected_resolution(dt.date(2026, 11, 28), 5) == dt.date(2026, 12, 3)
    assert expected_resolution(dt.date(2026, 11, 28), None) is None
    assert [severity_from_score(n) for n in (0, 3, 4, 6, 7, 10)] == [
        "mild",
        "mild",
        "moderate",
        "moderate",
        "severe",
        "severe",
    ]
    with pytest.raises(ValueError):
        severity_from_score(11)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("open", "improving", True),
        ("open", "resolved", True),
        ("improving", "resolved", True),
        ("improving", "open", True),  # worse again
        ("resolved", "open", True),  # it came back
        ("resolved", "improving", False),
        ("open", "open", True),  # a note, no change
    ],
)
def test_the_status_transitions(current, target, allowed):
    assert (SideEffectStatus.refusal(current, target) is None) is allowed


# --- Recording and its course ----------------------------------------------------------------


def record(session=None, kind="Bruising", **fields):
    session = session or done_session(days_ago=2)
    values = {
        "client": session.plan.client,
        "session": session,
        "kind": SideEffectKind.objects.get(name=kind),
        "severity": "moderate",
        "serious": False,
        "onset": timezone.localdate() - dt.timedelta(days=1),
        "resolved_on": None,
        "action_taken": "",
        "notes": "",
        "recorded_by": session.practitioner,
    } | fields
    return side_effect_record(**values)


@pytest.mark.django_db
def test_a_recorded_side_effect_is_open_and_expected_to_resolve_when_its_kind_usually_does():
    effect = record(kind="Swelling")
    assert effect.status == SideEffectStatus.OPEN
    assert effect.expected_resolution_on == effect.onset + dt.timedelta(days=5)
    resolved = record(resolved_on=timezone.localdate())
    assert resolved.status == SideEffectStatus.RESOLVED


@pytest.mark.django_db
def test_each_status_change_is_a_follow_up_with_its_severity_and_the_history_keeps_it(practitioner):
    effect = record()
    today = timezone.localdate()

    better = side_effect_follow_up(
        side_effect_id=effect.pk, by=practitioner, note="Fading", severity="mild", status="improving"
    )
    assert (better.previous_status, better.status, better.severity) == ("open", "improving", "mild")
    worse = side_effect_follow_up(
        side_effect_id=effect.pk, by=practitioner, note="", severity="moderate", status="open"
    )
    assert (worse.previous_status, worse.status) == ("improving", "open")
    with pytest.raises(ValidationError, match="date it resolved"):
        side_effect_follow_up(side_effect_id=effect.pk, by=practitioner, note="", severity="mild", status="resolved")
    side_effect_follow_up(
        side_effect_id=effect.pk, by=practitioner, note="Gone", severity="mild", status="resolved", resolved_on=today
    )
    effect.refresh_from_db()
    assert (effect.status, effect.resolved_on, effect.severity) == ("resolved", today, "mild")
    with pytest.raises(SideEffectRefused, match="cannot become improving"):
        side_effect_follow_up(side_effect_id=effect.pk, by=practitioner, note="", severity="mild", status="improving")
    # It came back: open again, without its date.
    side_effect_follow_up(side_effect_id=effect.pk, by=practitioner, note="Back", severity="mild", status="open")
    effect.refresh_from_db()
    assert (effect.status, effect.resolved_on) == ("open", None)
    assert list(effect.follow_ups.values_list("status", flat=True)) == ["improving", "open", "resolved", "open"]
    reasons = list(effect.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert "Follow-up: open → improving" in reasons and "Follow-up: resolved → open" in reasons
    assert effect.history.filter(history_user=practitioner).count() == 4


@pytest.mark.django_db
def test_a_follow_up_says_something(practitioner):
    effect = record()
    with pytest.raises(SideEffectRefused, match="Nothing to add"):
        side_effect_follow_up(side_effect_id=effect.pk, by=practitioner, note="  ", severity="moderate", status="open")


@pytest.mark.django_db
def test_resolving_before_the_onset_or_in_the_future_is_refused(practitioner):
    effect = record()
    for day, message in ((effect.onset - dt.timedelta(days=1), "before its onset"), (dt.date(2099, 1, 1), "future")):
        with pytest.raises(ValidationError, match=message):
            side_effect_follow_up(
                side_effect_id=effect.pk, by=practitioner, note="", severity="mild", status="resolved", resolved_on=day
            )


@pytest.mark.django_db
def test_the_follow_up_page_takes_a_photo_and_shows_it_to_practitioners_only(client, practitioner, reception):
    effect = record()
    client.force_login(practitioner)
    url = reverse("side_effect_follow_up", args=[effect.pk])
    photo = SimpleUploadedFile("bruise.jpg", image_bytes("JPEG"), content_type="image/jpeg")
    response = client.post(url, {"note": "Yellowing", "severity": "mild", "status": "improving", "photo": photo})
    assert response.status_code == 302
    entry = effect.follow_ups.get()
    assert entry.photo and entry.photo_content_type == "image/jpeg"
    page = client.get(reverse("side_effect_detail", args=[effect.pk])).content.decode()
    assert reverse("side_effect_photo", args=[entry.pk]) in page and "Yellowing" in page
    assert client.get(reverse("side_effect_photo", args=[entry.pk])).status_code == 200
    client.force_login(reception)
    assert client.get(reverse("side_effect_photo", args=[entry.pk])).status_code == 403


@pytest.mark.django_db
def test_a_file_that_is_not_a_photo_is_refused_beside_the_field(client, practitioner):
    effect = record()
    client.force_login(practitioner)
    fake = SimpleUploadedFile("bruise.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(
        reverse("side_effect_follow_up", args=[effect.pk]),
        {"note": "x", "severity": "mild", "status": "open", "photo": fake},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["photo"]
    assert 'id="error-summary"' in response.content.decode()
    assert not effect.follow_ups.exists()


@pytest.mark.django_db
def test_resolving_from_the_page_without_a_date_says_so_beside_the_field(client, practitioner):
    effect = record()
    client.force_login(practitioner)
    response = client.post(
        reverse("side_effect_follow_up", args=[effect.pk]), {"note": "", "severity": "mild", "status": "resolved"}
    )
    assert "Give the date it resolved." in response.context["form"].errors["resolved_on"]
    effect.refresh_from_db()
    assert effect.status == "open"


# --- Not resolved when expected: a call, and a flag on Today ----------------------------------


@pytest.mark.django_db
def test_a_side_effect_not_resolved_when_expected_becomes_a_call_and_a_flag_on_today(client, practitioner):
    ReminderRule.objects.exclude(kind=ReminderKind.SIDE_EFFECT_UNRESOLVED).update(active=False)
    # A bruise of 12 days ago: bruises are usually gone within 10.
    session = done_session(days_ago=13)
    effect = record(session, onset=timezone.localdate() - dt.timedelta(days=12))
    assert effect.expected_resolution_on == timezone.localdate() - dt.timedelta(days=2)
    reminders_generate(now=timezone.now())
    call = Reminder.objects.get(side_effect=effect)
    assert (call.kind, call.channel, call.session, call.status) == (
        "side_effect_unresolved",
        "call",
        session,
        "pending",
    )
    assert timezone.localtime(call.due_at).date() == effect.expected_resolution_on
    calls = call_list(now=timezone.now())
    assert calls.side_effects == [call] and calls.totals["side_effects"] == 1
    client.force_login(practitioner)
    today = client.get(reverse("dashboard"))
    assert today.context["overdue_side_effects_total"] == 1
    assert "Past their expected time" in today.content.decode()
    # Running the generator again adds nothing; once resolved, the call is cancelled.
    assert reminders_generate(now=timezone.now()) == 0
    side_effect_follow_up(
        side_effect_id=effect.pk,
        by=practitioner,
        note="Gone",
        severity="mild",
        status="resolved",
        resolved_on=timezone.localdate(),
    )
    reminders_cancel_obsolete(now=timezone.now())
    call.refresh_from_db()
    assert call.status == ReminderStatus.CANCELLED
    assert client.get(reverse("dashboard")).context["overdue_side_effects_total"] == 0


@pytest.mark.django_db
def test_a_kind_without_an_expected_time_makes_no_call():
    ReminderRule.objects.exclude(kind=ReminderKind.SIDE_EFFECT_UNRESOLVED).update(active=False)
    SideEffectKind.objects.filter(name="Itching").update(expected_days=None)
    record(done_session(days_ago=41), kind="Itching", onset=timezone.localdate() - dt.timedelta(days=40))
    reminders_generate(now=timezone.now())
    assert not Reminder.objects.exists()


# --- The allergy loop ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reviewed_allergic_reaction_adds_the_allergy_and_the_next_lot_is_refused(client, practitioner):
    plan = make_cleared(make_plan())
    first = book_session(plan, starts_at=timezone.now() - dt.timedelta(days=3), status=SessionStatus.ARRIVED)
    sign_record(first)
    product = plan.mixture.components.order_by("id").first().product
    substance = product.substances.order_by("pk").first()
    effect = record(first, kind="Allergic reaction", suspected_substance=substance, suspected_product=product)
    client.force_login(practitioner)
    detail = reverse("side_effect_detail", args=[effect.pk])

    # Not offered before review, and refused if asked anyway.
    assert client.get(detail).context["allergy"] is None
    client.post(reverse("side_effect_add_allergy", args=[effect.pk]))
    assert not plan.client.allergies.exists()

    side_effect_review(side_effect_id=effect.pk, reviewer=practitioner)
    page = client.get(detail)
    assert page.context["allergy"] == substance
    assert f"Add the allergy to {substance}" in page.content.decode()
    response = client.post(reverse("side_effect_add_allergy", args=[effect.pk]), follow=True)
    assert f"Allergy to {substance} added" in response.content.decode()
    assert list(plan.client.allergies.all()) == [substance]
    # Audited: the client's history says who added it, and why.
    added = plan.client.history.order_by("-history_id").first()
    assert added.history_user == practitioner
    assert f"side effect {effect.pk}" in added.history_change_reason
    assert effect.follow_ups.filter(note__contains=f"Allergy to {substance}").exists()
    # Offered no more.
    assert client.get(detail).context["allergy"] is None

    # From then on: the next session's lots of that product are not offered, a
    # crafted one is refused, and the clearance rule blocks the mixture.
    following = book_session(plan, starts_at=timezone.now() - dt.timedelta(hours=1), status=SessionStatus.ARRIVED)
    context = LotContext.of(following)
    lot = make_lot(product)
    assert lot not in lots_offered(context)
    assert any("allergic" in reason for reason in context.refusals([lot]))
    assert clearance(following).clearance == Clearance.BLOCKED
    with pytest.raises(NotCleared, match=f"Known allergy to {substance}"):
        sign_record(following)


@pytest.mark.django_db
def test_no_allergy_loop_for_another_kind_or_without_a_substance(practitioner):
    bruise = record(suspected_substance=Substance.objects.order_by("pk").first())
    side_effect_review(side_effect_id=bruise.pk, reviewer=practitioner)
    with pytest.raises(SideEffectRefused):
        client_allergy_from_side_effect(side_effect_id=bruise.pk, by=practitioner)
    reaction = record(kind="Allergic reaction")
    side_effect_review(side_effect_id=reaction.pk, reviewer=practitioner)
    with pytest.raises(SideEffectRefused):
        client_allergy_from_side_effect(side_effect_id=reaction.pk, by=practitioner)


# --- The cause offered ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_clients_past_treated_sessions_are_offered_as_the_cause(client, practitioner):
    past = done_session(days_ago=3)
    plan = past.plan
    future = book_session(plan)
    missed = book_session(plan, starts_at=timezone.now() - dt.timedelta(days=6), status=SessionStatus.NO_SHOW)
    other = done_session(days_ago=2)
    client.force_login(practitioner)
    url = reverse("side_effect_new", args=[plan.client_id])
    offered = list(client.get(url).context["form"].fields["session"].queryset)
    assert offered == [past]
    data = {
        "kind": SideEffectKind.objects.get(name="Bruising").pk,
        "severity": "mild",
        "onset": timezone.localdate().isoformat(),
    }
    for session in (future, missed, other):
        response = client.post(url, data | {"session": session.pk})
        assert response.status_code == 200 and response.context["form"].errors["session"]
    assert not SideEffect.objects.exists()
    # The service refuses it too, whatever calls it.
    with pytest.raises(ValidationError, match="past sessions"):
        record(future, onset=timezone.localdate())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"onset": dt.date(2099, 1, 1)}, "onset", "cannot be in the future"),
        ({"onset": dt.date(2020, 1, 1)}, "onset", "cannot be before the session"),
        ({"resolved_on": dt.date(2099, 1, 1)}, "resolved_on", "cannot be in the future"),
    ],
)
def test_the_services_refuse_an_onset_or_a_resolution_the_staff_form_refuses(fields, field, message):
    """Whatever calls them (the staff pages, the admin, a check-in): the onset
    and the day it resolved are checked in the service, not only in a form."""
    with pytest.raises(ValidationError) as refused:
        record(**fields)
    assert message in " ".join(refused.value.message_dict[field])
    effect = record()
    with pytest.raises(ValidationError) as refused:
        side_effect_update(
            side_effect_id=effect.pk, by=effect.recorded_by, onset=fields.get("onset", dt.date(2099, 1, 1))
        )
    assert "onset" in refused.value.message_dict
    assert SideEffect.objects.get().onset == effect.onset


# --- Editing, with history --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_practitioner_edits_a_side_effect_and_the_page_shows_what_changed(client, practitioner):
    effect = record(kind="Swelling")
    client.force_login(practitioner)
    url = reverse("side_effect_edit", args=[effect.pk])
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data |= {"kind": SideEffectKind.objects.get(name="Bruising").pk, "notes": "<script>alert(1)</script> left cheek"}
    data["serious"] = ""
    response = client.post(url, {k: v for k, v in data.items() if v != ""} | {"severity": "moderate"})
    assert response.status_code == 302
    effect.refresh_from_db()
    assert effect.kind.name == "Bruising"
    assert effect.expected_resolution_on == effect.onset + dt.timedelta(days=10)
    page = client.get(reverse("side_effect_detail", args=[effect.pk])).content.decode()
    assert "Kind changed" in page and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert effect.history.first().history_user == practitioner


@pytest.mark.django_db
def test_reception_cannot_open_a_side_effect(client, reception):
    effect = record()
    client.force_login(reception)
    for name in ("side_effect_detail", "side_effect_edit", "side_effect_report"):
        assert client.get(reverse(name, args=[effect.pk])).status_code == 403


# --- The list's filters ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_filters_and_links_each_name_to_the_client(client, practitioner):
    other_practitioner = make_user(Role.PRACTITIONER)
    mine = done_session(days_ago=4, plan=make_plan(client=make_client(last_name="Mine"), practitioner=practitioner))
    theirs = done_session(
        days_ago=3,
        plan=make_plan(
            client=make_client(last_name="Theirs"),
            practitioner=other_practitioner,
            mixture=Mixture.objects.exclude(pk=mine.plan.mixture_id).order_by("name").first(),
        ),
    )
    lot = make_lot(lot_number="LOT-FILTER-1")
    make_injection(mine, lots=[lot])
    bruise = record(mine, severity="severe")
    swelling = record(theirs, kind="Swelling", onset=timezone.localdate() - dt.timedelta(days=2))
    resolved = record(mine, resolved_on=timezone.localdate(), kind="Redness")
    side_effect_review(side_effect_id=resolved.pk, reviewer=practitioner)
    client.force_login(practitioner)

    def listed(**params):
        return client.get(reverse("side_effect_list"), params).context["effects"]

    assert set(listed()) == {bruise, swelling}  # open ones by default
    assert set(listed(status="all")) == {bruise, swelling, resolved}
    assert listed(status="resolved") == [resolved]
    assert listed(severity="severe") == [bruise]
    assert listed(kind=SideEffectKind.objects.get(name="Swelling").pk) == [swelling]
    assert listed(practitioner=other_practitioner.pk) == [swelling]
    assert listed(lot="lot-filter-1") == [bruise]
    assert set(listed(mixture=mine.plan.mixture_id, status="all")) == {bruise, resolved}
    assert listed(onset_from=(timezone.localdate() - dt.timedelta(days=1)).isoformat()) == [bruise]
    assert listed(onset_to=(timezone.localdate() - dt.timedelta(days=2)).isoformat()) == [swelling]
    # A filter that cannot be read is dropped, not an error page.
    assert set(listed(kind="nonsense", onset_from="yesterday")) == {bruise, swelling}
    page = client.get(reverse("side_effect_list")).content.decode()
    assert reverse("client_detail", args=[mine.plan.client_id]) in page
    assert reverse("side_effect_detail", args=[bruise.pk]) in page


@pytest.mark.django_db
def test_a_filtered_list_is_a_fixed_number_of_queries(client, practitioner, django_assert_num_queries):
    lot = make_lot(lot_number="LOT-COUNT")

    def add(n):
        for _ in range(n):
            session = done_session(days_ago=2)
            make_injection(session, lots=[lot])
            record(session)

    client.force_login(practitioner)
    add(1)
    params = {"lot": "LOT-COUNT", "status": "all", "severity": "moderate"}
    # As the unfiltered list (test_side_effects): session, user, permissions (2),
    # count, page, the staff, kinds and mixtures it names, access log, the
    # filters' kinds, practitioners and mixtures, groups.
    with django_assert_num_queries(12):
        client.get(reverse("side_effect_list"), params)
    add(6)
    with django_assert_num_queries(12):
        response = client.get(reverse("side_effect_list"), params)
    assert len(response.context["effects"]) == 7


@pytest.mark.django_db
def test_the_side_effect_page_makes_the_same_queries_however_long_its_course(
    client, practitioner, django_assert_num_queries
):
    effect = record()
    client.force_login(practitioner)
    url = reverse("side_effect_detail", args=[effect.pk])
    # session, user, roles and permissions (one query), the side effect (with its
    # client, kind, session, area, suspects and who recorded and reviewed it),
    # its follow-ups (with who wrote each), the client's allergies, the access
    # log entry, its history rows (with who made each).
    with django_assert_num_queries(8):
        client.get(url)
    side_effect_review(side_effect_id=effect.pk, reviewer=practitioner)
    for i, status in enumerate(["improving", "open", "improving", "improving", "open"]):
        side_effect_follow_up(
            side_effect_id=effect.pk, by=make_user(Role.PRACTITIONER), note=f"Day {i}", severity="mild", status=status
        )
    with django_assert_num_queries(8):
        response = client.get(url)
    assert len(response.context["follow_ups"]) == 5 and len(response.context["changes"]) >= 3
