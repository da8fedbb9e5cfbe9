"""Lot traceability for a recall: every client and session that received a lot."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Product, SessionStatus, TreatmentArea
from sessions_app.views import lots

from .factories import make_client, make_injection, make_lot, make_plan, make_session, next_weekday_at


@pytest.fixture
def practitioner_client(client, practitioner):
    client.force_login(practitioner)
    return client


def treated_with(lots, *, weeks_ago: int, name: str):
    plan = make_plan(client=make_client(last_name=name))
    start = next_weekday_at(10) - dt.timedelta(weeks=weeks_ago + 1)
    session = make_session(plan=plan, starts_at=start, status=SessionStatus.COMPLETED, completed_at=start)
    return make_injection(session, lots=lots)


@pytest.mark.django_db
def test_the_trace_lists_every_client_who_received_the_lot_and_no_one_else(practitioner_client):
    recalled, other = make_lot(lot_number="REC-001"), make_lot(lot_number="OK-002")
    lidocaine = make_lot(product=Product.objects.exclude(pk=recalled.product_id).first())
    treated_with([recalled, lidocaine], weeks_ago=3, name="Dupont")
    treated_with([other], weeks_ago=2, name="Martin")
    treated_with([recalled], weeks_ago=1, name="Bernard")

    response = practitioner_client.get(reverse("lot_trace", args=[recalled.pk]))
    names = [i.session.plan.client.last_name for i in response.context["injections"]]
    assert names == ["Dupont", "Bernard"]

    csv_response = practitioner_client.get(reverse("lot_trace", args=[recalled.pk]), {"format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert rows[0][:2] == ["session date", "client"]
    assert [r[1].split()[-1] for r in rows[1:]] == ["Dupont", "Bernard"]
    assert rows[1][5] == TreatmentArea.objects.get(name="Face").name


@pytest.mark.django_db
def test_each_row_of_the_trace_says_when_who_how_to_reach_them_where_how_much_and_by_whom(practitioner_client):
    """What a recall needs, a row an injection; every value escaped."""
    recalled = make_lot(lot_number="REC-003")
    hostile = make_client(
        first_name="<script>alert(1)</script>",
        last_name="Durand",
        date_of_birth=dt.date(1980, 2, 29),
        phone="+33612345678",
        email="a&b@example.org",
    )
    start = timezone.make_aware(dt.datetime(2026, 3, 4, 9, 30))
    session = make_session(plan=make_plan(client=hostile), starts_at=start, status=SessionStatus.COMPLETED)
    make_injection(session, lots=[recalled], volume_ml=Decimal("0.50"))
    page = practitioner_client.get(reverse("lot_trace", args=[recalled.pk])).content.decode()
    row = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "<script>alert(1)" not in row and "&lt;script&gt;alert(1)&lt;/script&gt; Durand" in row
    assert '<td class="text-nowrap">04/03/2026 09:30</td>' in row
    assert "(29/02/1980)" in row
    assert "06 12 34 56 78<br>a&amp;b@example.org" in row
    assert '<td class="text-nowrap">0.50 ml</td>' in row
    assert f"<td>{session.practitioner}</td>" in row and f"<td>{TreatmentArea.objects.get(name='Face')}</td>" in row


@pytest.mark.django_db
def test_lot_search_finds_by_part_of_the_number(practitioner_client):
    lot = make_lot(lot_number="AB12345")
    response = practitioner_client.get(reverse("lot_search"), {"q": "1234"})
    assert list(response.context["lots"]) == [lot]
    assert not practitioner_client.get(reverse("lot_search"), {"q": "zzz"}).context["lots"]


@pytest.mark.django_db
def test_reception_cannot_trace_lots(client, reception):
    client.force_login(reception)
    assert client.get(reverse("lot_trace", args=[make_lot().pk])).status_code == 403


@pytest.mark.django_db
def test_trace_query_count_does_not_grow(practitioner_client, django_assert_num_queries):
    lot = make_lot()
    treated_with([lot], weeks_ago=1, name="First")
    url = reverse("lot_trace", args=[lot.pk])
    # session, user, roles and permissions (one query), the lot, the count of its links
    # (paginator), the page of injections (their ids a subquery on the links) with
    # area, session, client, practitioner, the access log entries (one INSERT for
    # the clients listed).
    with django_assert_num_queries(7):
        practitioner_client.get(url)
    for i in range(12):
        treated_with([lot], weeks_ago=2 + i, name=f"Client{i}")
    with django_assert_num_queries(7):
        response = practitioner_client.get(url)
    assert len(response.context["injections"]) == 13


@pytest.mark.django_db
def test_a_big_trace_comes_in_pages_in_the_order_recorded_and_misses_no_one(practitioner_client, monkeypatch):
    monkeypatch.setattr(lots, "PAGE_SIZE", 2)
    recalled, other = make_lot(lot_number="REC-9"), make_lot(lot_number="OK-9")
    # Recorded in this order, whatever the session dates.
    treated = [treated_with([recalled], weeks_ago=weeks, name=f"Client{i}") for i, weeks in enumerate([1, 5, 3, 2, 4])]
    treated_with([other], weeks_ago=7, name="Untouched")
    url = reverse("lot_trace", args=[recalled.pk])
    pages = [practitioner_client.get(url, {"page": n}) for n in (1, 2, 3)]
    assert [i.pk for p in pages for i in p.context["injections"]] == [i.pk for i in treated]
    assert all(p.context["page"].paginator.count == 5 for p in pages)
    assert "5 injections recorded" in pages[0].content.decode()
