"""Side effects: recorded from a session or later, reviewed from the open list."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Client, Role, SessionStatus, SideEffect, SideEffectKind

from .factories import make_client, make_session, make_user


@pytest.fixture
def practitioner_client(client, practitioner):
    client.force_login(practitioner)
    return client


def completed_session(days_ago=1):
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    return make_session(starts_at=start, status=SessionStatus.COMPLETED, completed_at=start + dt.timedelta(minutes=45))


def bruise_after(session, **fields) -> SideEffect:
    """A mild bruise after `session`, from today unless said, recorded by another practitioner."""
    fields.setdefault("onset", timezone.localdate())
    return SideEffect.objects.create(
        client=session.plan.client,
        session=session,
        kind=SideEffectKind.objects.get(name="Bruising"),
        severity="mild",
        recorded_by=make_user(Role.PRACTITIONER),
        **fields,
    )


def form_data(session=None, **overrides):
    data = {
        "session": session.pk if session else "",
        "kind": SideEffectKind.objects.get(name="Bruising").pk,
        "severity": "mild",
        "onset": timezone.localdate().isoformat(),
        "resolved_on": "",
        "action_taken": "Arnica cream, cold pack",
        "notes": "Small bruise on the left cheek",
    }
    return data | overrides


@pytest.mark.django_db
def test_a_bruise_the_next_day_is_recorded_against_the_session(practitioner_client, practitioner):
    session = completed_session()
    url = reverse("side_effect_new", args=[session.plan.client_id])
    response = practitioner_client.post(url, form_data(session))
    assert response.status_code == 302
    effect = SideEffect.objects.get()
    assert (effect.client, effect.session, effect.recorded_by) == (session.plan.client, session, practitioner)
    assert effect.kind.name == "Bruising"
    assert effect.history.count() == 1  # its history starts with who recorded it


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"resolved_on": "2020-01-01"}, "onset", "cannot be after the day it resolved (01/01/2020)"),
        ({"resolved_on": "2099-01-01"}, "resolved_on", "cannot be in the future"),
        ({"onset": "2099-01-01"}, "onset", "cannot be in the future"),
        ({"severity": "apocalyptic"}, "severity", "Select a valid choice"),
        ({"kind": "999999"}, "kind", "Select a valid choice"),
        ({"onset": "yesterday"}, "onset", "Enter a valid date"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(practitioner_client, override, field, message):
    session = completed_session()
    url = reverse("side_effect_new", args=[session.plan.client_id])
    response = practitioner_client.post(url, form_data(session, **override))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_another_clients_session_cannot_be_chosen(practitioner_client):
    mine, theirs = completed_session(2), completed_session(1)
    url = reverse("side_effect_new", args=[mine.plan.client_id])
    response = practitioner_client.post(url, form_data(theirs))
    assert "Select a valid choice" in " ".join(response.context["form"].errors["session"])
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_onset_before_the_session_is_refused(practitioner_client):
    session = completed_session(days_ago=3)
    before = (timezone.localtime(session.starts_at).date() - dt.timedelta(days=1)).isoformat()
    url = reverse("side_effect_new", args=[session.plan.client_id])
    response = practitioner_client.post(url, form_data(session, onset=before))
    assert "before the session" in " ".join(response.context["form"].errors["onset"])


@pytest.mark.django_db
def test_reception_can_neither_record_nor_read_side_effects(client, reception):
    client.force_login(reception)
    patient = make_client()
    assert client.get(reverse("side_effect_new", args=[patient.pk])).status_code == 403
    assert client.get(reverse("side_effect_list")).status_code == 403


@pytest.mark.django_db
def test_review_marks_who_and_when_and_the_effect_leaves_the_list_once_resolved(practitioner_client, practitioner):
    session = completed_session()
    effect = bruise_after(
        session,
        onset=timezone.localdate() - dt.timedelta(days=1),
        resolved_on=timezone.localdate(),
        status="resolved",
    )
    assert session.plan.client.full_name in practitioner_client.get(reverse("side_effect_list")).content.decode()
    practitioner_client.post(reverse("side_effect_review", args=[effect.pk]))
    effect.refresh_from_db()
    assert effect.reviewed_by == practitioner and effect.reviewed_at is not None
    assert effect not in practitioner_client.get(reverse("side_effect_list")).context["effects"]
    again = practitioner_client.post(reverse("side_effect_review", args=[effect.pk]), follow=True)
    assert "Already reviewed" in again.content.decode()


@pytest.mark.django_db
def test_open_list_query_count_does_not_grow(practitioner_client, django_assert_num_queries):
    kind = SideEffectKind.objects.get(name="Bruising")
    recorder = make_user(Role.PRACTITIONER)

    def add(n):
        for _ in range(n):
            SideEffect.objects.create(
                client=make_client(), kind=kind, severity="mild", onset=timezone.localdate(), recorded_by=recorder
            )

    add(1)
    # session, user, roles and permissions (one query), count (paginator), the page of
    # side effects with client, session and plan, their kinds (and, a query each
    # when the page names some, the practitioners and reviewers, areas and
    # mixtures: none here), the access log entries (one INSERT for the clients
    # listed), the filters' kinds, practitioners and mixtures.
    with django_assert_num_queries(10):
        practitioner_client.get(reverse("side_effect_list"))
    add(20)
    with django_assert_num_queries(10):
        response = practitioner_client.get(reverse("side_effect_list"))
    assert len(response.context["effects"]) == 21


@pytest.mark.django_db
def test_the_open_list_puts_serious_then_unreviewed_first_on_every_database(practitioner_client, practitioner):
    kind = SideEffectKind.objects.get(name="Bruising")
    today = timezone.localdate()

    def effect(name, *, serious=False, reviewed=False, days_ago=0):
        return SideEffect.objects.create(
            client=make_client(last_name=name),
            kind=kind,
            severity="severe" if serious else "mild",
            serious=serious,
            onset=today - dt.timedelta(days=days_ago),
            recorded_by=practitioner,
            reviewed_by=practitioner if reviewed else None,
            reviewed_at=timezone.now() if reviewed else None,
        )

    reviewed_recent = effect("ReviewedRecent", reviewed=True)
    waiting_old = effect("WaitingOld", days_ago=5)
    serious_reviewed = effect("Serious", serious=True, reviewed=True, days_ago=9)
    waiting_recent = effect("WaitingRecent", days_ago=1)
    listed = list(practitioner_client.get(reverse("side_effect_list")).context["effects"])
    assert listed == [serious_reviewed, waiting_recent, waiting_old, reviewed_recent]
    # The dashboard's panel is the top of the same list.
    dashboard = practitioner_client.get(reverse("dashboard")).context["side_effects"]
    assert dashboard == listed


@pytest.mark.django_db
def test_the_list_s_rows_show_hostile_text_escaped_and_their_review_form_works(client, practitioner):
    """The rows are written in Python (sessions_app/side_effect_html.py): what
    was typed reaches the page as text, and the row's own form marks the side
    effect reviewed and comes back to the list as it was filtered."""

    hostile = '<img src=x onerror="alert(1)">'
    session = completed_session()
    effect = bruise_after(session, notes=hostile, action_taken=hostile)
    SideEffect.objects.filter(pk=effect.pk).update(notes=hostile * 10)
    Client.objects.filter(pk=session.plan.client_id).update(first_name=hostile)
    client.force_login(practitioner)
    url = reverse("side_effect_list") + "?severity=mild"
    page = client.get(url).content.decode()
    rows = page[page.index('id="side-effects"') :]
    assert "<img" not in rows
    # The client's name twice (wide and narrow screens), the notes cut short
    # to 160 characters (five times), the action taken.
    assert rows.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 2 + 5 + 1
    assert "…" in rows
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', rows, re.S)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    assert form.group(1) == reverse("side_effect_review", args=[effect.pk])
    assert fields["next"] == url
    client.handler.enforce_csrf_checks = True
    response = client.post(form.group(1), {"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"], "next": url})
    assert response.status_code == 302 and response["Location"] == url
    effect.refresh_from_db()
    assert effect.reviewed_by == practitioner
