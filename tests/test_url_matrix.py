"""Every URL of the app, taken from the URL resolver, answered for anonymous
visitors and each role: a page nobody listed here fails the first test, so a
new page cannot be forgotten.

Each answer is to a plain GET: 200 (the page), 302 (sent to sign in, or on to
another page), 403 (the role may not), 405 (the address only takes a POST,
which the role may make; sign out is a POST too). Health data is private by default: anonymous
visitors are sent to sign in everywhere but the sign-in page itself, the
secret-URL calendar feed and a client's unsubscribe link.

Every redirect is followed to the end, which must be a page (200, 403 or 405):
a redirect loop (the Django test client raises RedirectCycleError) or a chain
that never ends fails the test.
"""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from sessions_app.models import ReminderChannel, ReminderKind, Role, SessionStatus
from sessions_app.reminders.checkin_link import check_in_token
from sessions_app.reminders.unsubscribe import unsubscribe_token
from sessions_app.services.side_effects import side_effect_follow_up

from .factories import (
    image_bytes,
    make_cleared,
    make_lot,
    make_photo,
    make_physician,
    make_plan,
    make_reminder,
    make_session,
    make_side_effect,
    make_user,
    sign_record,
)

ROLES = ("anonymous", Role.RECEPTION, Role.PRACTITIONER, Role.MANAGER)

# name: (anonymous, reception, practitioner, manager)
EXPECTED = {
    "login": (200, 302, 302, 302),
    "logout": (302, 405, 405, 405),
    "admin_login_redirect": (302, 302, 302, 302),
    "two_factor_setup": (302, 200, 200, 200),
    "two_factor_verify": (302, 302, 302, 302),  # no authenticator yet: on to the set-up
    "dashboard": (302, 200, 200, 200),
    "reminders_due": (302, 200, 200, 200),
    "schedule": (302, 200, 200, 200),
    "book_series": (302, 200, 200, 200),
    "client_lookup": (302, 200, 200, 200),
    "plan_detail": (302, 200, 200, 200),
    "plan_rebook": (302, 200, 200, 200),  # two sessions of six booked: the rest are offered
    "plan_maintenance": (302, 302, 302, 302),  # the series is not over: on to the plan
    "session_detail": (302, 200, 200, 200),
    "session_move": (302, 200, 200, 200),
    "session_action": (302, 200, 200, 200),  # cancel: the page that asks who cancelled
    "session_undo": (302, 405, 405, 405),
    "session_record": (302, 403, 200, 200),
    "session_amend": (302, 403, 200, 200),
    "session_photo": (302, 403, 200, 200),
    # The record form's own addresses: an area's card (the session is signed
    # here: a card for an amendment) and the draft (a POST only).
    "session_record_area": (302, 403, 200, 200),
    "session_record_draft": (302, 403, 405, 405),
    "client_search": (302, 200, 200, 200),
    "client_detail": (302, 200, 200, 200),
    "client_new": (302, 200, 200, 200),
    "client_edit": (302, 200, 200, 200),
    "client_merge": (302, 403, 403, 200),
    "client_export": (302, 403, 403, 200),
    "client_export_json": (302, 403, 403, 200),
    "client_erase": (302, 403, 403, 200),
    "screening_new": (302, 403, 200, 200),
    # A physician's judgement: the practitioner here is a physician, the manager is not.
    "screening_judge": (302, 403, 200, 403),
    "consent_new": (302, 403, 200, 200),
    "lot_search": (302, 403, 200, 200),
    "lot_trace": (302, 403, 200, 200),
    "side_effect_list": (302, 403, 200, 200),
    "side_effect_review": (302, 403, 405, 405),
    "side_effect_new": (302, 403, 200, 200),
    "side_effect_signal": (302, 403, 200, 200),
    "side_effect_detail": (302, 403, 200, 200),
    "side_effect_edit": (302, 403, 200, 200),
    "side_effect_follow_up": (302, 403, 405, 405),
    "side_effect_add_allergy": (302, 403, 405, 405),
    "side_effect_report": (302, 403, 200, 200),
    "side_effect_report_json": (302, 403, 200, 200),
    "side_effect_report_csv": (302, 403, 200, 200),
    "side_effect_photo": (302, 403, 200, 200),
    # The client's own page: no sign-in, the signed link is the credential.
    "check_in": (200, 200, 200, 200),
    "check_in_stop": (405, 405, 405, 405),
    "call_list": (302, 200, 200, 200),
    "call_outcome": (302, 405, 405, 405),
    "unsubscribe": (200, 200, 200, 200),
    "calendar_settings": (302, 403, 200, 403),
    "practitioner_feed": (200, 200, 200, 200),
    "reports": (302, 403, 200, 200),
    "reports_section": (302, 403, 200, 200),
    "report_csv": (302, 403, 200, 200),
    "staff_list": (302, 403, 403, 200),
    "staff_add": (302, 403, 403, 200),
    "staff_detail": (302, 403, 403, 200),
    "staff_action": (302, 405, 405, 405),
    # The one-time link to choose a password: no sign-in; a bad link says so.
    "password_set": (200, 200, 200, 200),
}


def url_names(patterns=None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_page_of_the_app_has_its_expected_answers_listed_here():
    app_pages = {name for name in url_names() if not name.startswith("admin:")}
    assert app_pages == set(EXPECTED)


@pytest.fixture
def world(db):
    """One of everything a URL can name."""
    practitioner = make_physician()
    practitioner.calendar_token = "secret-feed-token-0123456789"
    practitioner.save()
    plan = make_cleared(make_plan(practitioner=practitioner))
    booked = make_session(plan=plan, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=9))
    done = make_session(
        plan=plan, starts_at=timezone.now().replace(microsecond=0) - dt.timedelta(days=5), status=SessionStatus.ARRIVED
    )
    sign_record(done)
    return {
        "client": plan.client,
        "plan": plan,
        "booked": booked,
        "done": done,
        "photo": make_photo(done),
        "lot": make_lot(),
        "side_effect": (effect := make_side_effect(done)),
        "follow_up": side_effect_follow_up(
            side_effect_id=effect.pk,
            by=practitioner,
            note="Photo",
            severity="mild",
            status="open",
            photo=SimpleUploadedFile("bruise.png", image_bytes(), content_type="image/png"),
        ),
        "reminder": make_reminder(plan.client, channel=ReminderChannel.CALL, session=done),
        "check_in": make_reminder(plan.client, kind=ReminderKind.CHECK_IN, session=done),
        "practitioner": practitioner,
        "screening": plan.client.screenings.get(),
    }


def url_of(name: str, w: dict) -> str:
    by_name = {
        "plan_detail": [w["plan"].pk],
        "plan_rebook": [w["plan"].pk],
        "plan_maintenance": [w["plan"].pk],
        "session_move": [w["booked"].pk],
        "session_detail": [w["booked"].pk],
        "session_action": [w["booked"].pk, "cancel"],
        "session_undo": [w["booked"].pk],
        "session_record": [w["done"].pk],
        "session_amend": [w["done"].pk],
        "session_photo": [w["photo"].pk],
        "session_record_area": [w["done"].pk, w["plan"].areas.first().pk],
        "session_record_draft": [w["done"].pk],
        "client_detail": [w["client"].pk],
        "client_edit": [w["client"].pk],
        "client_merge": [w["client"].pk],
        "client_export": [w["client"].pk],
        "client_export_json": [w["client"].pk],
        "client_erase": [w["client"].pk],
        "screening_new": [w["client"].pk],
        "screening_judge": [w["screening"].pk],
        "consent_new": [w["plan"].pk],
        "lot_trace": [w["lot"].pk],
        "side_effect_review": [w["side_effect"].pk],
        "side_effect_new": [w["client"].pk],
        **{
            name: [w["side_effect"].pk]
            for name in (
                "side_effect_detail",
                "side_effect_edit",
                "side_effect_follow_up",
                "side_effect_add_allergy",
                "side_effect_report",
                "side_effect_report_json",
                "side_effect_report_csv",
            )
        },
        "side_effect_photo": [w["follow_up"].pk],
        "check_in": [check_in_token(w["check_in"].pk, w["client"].pk, w["done"].pk)],
        "check_in_stop": [check_in_token(w["check_in"].pk, w["client"].pk, w["done"].pk)],
        "call_outcome": [w["reminder"].pk, "reached"],
        "unsubscribe": [unsubscribe_token(w["client"].pk, ReminderChannel.EMAIL)],
        "practitioner_feed": [w["practitioner"].calendar_token],
        "report_csv": ["no-shows-by-month"],
        "reports_section": ["series"],
        "staff_detail": [w["practitioner"].pk],
        "staff_action": [w["practitioner"].pk, "unlock"],
        "password_set": ["MQ", "not-a-token"],
    }
    return reverse(name, args=by_name.get(name, []))


def signed_in(client, role, world):
    if role == "anonymous":
        client.logout()
    elif role == Role.PRACTITIONER:
        client.force_login(world["practitioner"])
    else:
        client.force_login(make_user(role))
    return client


# Where a chain of redirects may end: a page, a refusal, or "use POST".
PAGE_ENDS = (200, 403, 405)


def answers(client: Client, url: str) -> tuple[int, int, str]:
    """The first answer to a GET of `url`, and the last once every redirect
    is followed (its status and template). A redirect loop raises
    RedirectCycleError, and more than 20 redirects too: the test fails."""
    response = client.get(url, follow=True)
    first = response.redirect_chain[0][1] if response.redirect_chain else response.status_code
    template = response.templates[0].name if response.templates else ""
    return first, response.status_code, template


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_answer_from_every_page(client, world, role):
    column = ROLES.index(role)
    signed_in(client, role, world)
    wrong = {}
    for name, expected in EXPECTED.items():
        first, last, template = answers(client, url_of(name, world))
        if first != expected[column]:
            wrong[name] = f"{first}, expected {expected[column]}"
        elif last not in PAGE_ENDS:
            wrong[name] = f"redirects end on {last}"
        elif role == "anonymous" and first == 302 and template != "registration/login.html":
            wrong[name] = f"redirects end on {template}, not the sign-in page"
    assert wrong == {}


def test_anonymous_visitors_are_sent_to_sign_in_with_the_page_to_come_back_to(client, world):
    for name, expected in EXPECTED.items():
        if expected[0] == 302 and name != "admin_login_redirect":
            url = url_of(name, world)
            response = client.get(url)
            assert response["Location"].startswith(reverse("login") + "?next="), name


def admin_url(name: str, pattern_keys: list[str]) -> str:
    values = {
        "object_id": "1",
        "app_label": "sessions_app",
        "content_type_id": str(ContentType.objects.get(app_label="sessions_app", model="client").pk),
        "id": "1",
        "uidb64": "MQ",
        "token": "x",
    }
    return reverse(name, kwargs={key: values.get(key, "1") for key in pattern_keys})


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_is_for_managers_only_and_never_fails(client, world, role):
    """Every admin address: only staff (managers) get in. Anonymous visitors are
    sent to the staff sign-in; signed-in staff of other roles get the "Not
    allowed" page at once (issue 18: they went round /admin/ -> /admin/login/ ->
    /login/ -> /admin/ for ever). A manager gets a page, a redirect to one or a
    refusal, never an error."""
    signed_in(client, role, world)
    admin_resolver = next(p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "admin")
    checked = 0
    for name in sorted(url_names(admin_resolver.url_patterns, "admin:")):
        possibilities = admin_resolver.reverse_dict.getlist(name.removeprefix("admin:"))
        keys = possibilities[0][0][0][1] if possibilities else []
        url = admin_url(name, list(keys))
        first, last, template = answers(client, url)
        if role == Role.MANAGER:
            assert first in (200, 302, 403, 404, 405), f"{name}: {first}"
            assert last in (*PAGE_ENDS, 404), f"{name}: redirects end on {last}"
        elif role == "anonymous":
            assert (first, last, template) == (302, 200, "registration/login.html"), f"{name}: {first}, {template}"
        elif name == "admin:login":
            # The staff sign-in, for someone signed in already: on to today's page.
            assert (first, last, template) == (302, 200, "dashboard/dashboard.html"), f"{name}: {template}"
        else:
            assert (first, template) == (403, "403.html"), f"{name}: {first}, {template}"
        checked += 1
    assert checked > 100


def test_a_non_manager_opening_the_admin_gets_not_allowed_not_a_redirect_loop(client, world):
    client.force_login(make_user(Role.RECEPTION))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
    client.force_login(make_user(Role.MANAGER))
    assert "Mesoclinic administration" in client.get("/admin/").content.decode()
