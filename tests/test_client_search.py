"""Client search finds people as reception types them: accents, case, word
order, any part of the name, a phone in any format, an email, a date of birth;
on PostgreSQL small typos too, the closest names first."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.models import Client
from sessions_app.search_terms import fold, new_client_guess, parse_search

from .factories import make_client


def found(query: str) -> list[Client]:
    """What the search page shows: search_first, which must find what search does."""
    first = Client.objects.search_first(query, 50)
    assert set(first) == set(Client.objects.search(query)[:50])
    return first


@pytest.fixture
def people(db):
    return {
        "garcia": make_client(first_name="José", last_name="García", phone="06 39 98 76 73"),
        "muller": make_client(first_name="Hanna", last_name="Müller", phone="+41 79 123 45 67"),
        "dupont": make_client(
            first_name="Marie-Claire",
            last_name="Dupont",
            date_of_birth=dt.date(1966, 9, 14),
            email="MC.Dupont@Example.org",
            phone="",
        ),
        "lefebvre": make_client(first_name="Élodie", last_name="Lefebvre", phone="01 23 45 67 89"),
        "oeuvre": make_client(first_name="Zoë", last_name="Cœur d'Acier", phone=""),
    }


def test_fold_removes_accents_case_and_punctuation():
    assert fold("García-López, ZOË") == "garcia lopez zoe"
    assert fold("Cœur d’Acier Straße") == "coeur d acier strasse"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, who",
    [
        ("garcia", "garcia"),
        ("GARCÍA", "garcia"),
        ("jose garcia", "garcia"),
        ("garcia jose", "garcia"),
        ("arci", "garcia"),
        ("muller", "muller"),
        ("MÜLLER hanna", "muller"),
        ("claire", "dupont"),
        ("dupont marie", "dupont"),
        ("elodie", "lefebvre"),
        ("coeur", "oeuvre"),
        ("zoe acier", "oeuvre"),
    ],
)
def test_names_are_found_whatever_the_accents_case_and_order(people, query, who):
    assert found(query) == [people[who]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "06 39 98 76 73",
        "0639987673",
        "+33 6 39 98 76 73",
        "+33639987673",
        "0033 6 39 98 76 73",
        "06.39.98.76.73",
        "7673",
        "98 76 73",
        "06 39 98",
    ],
)
def test_a_phone_is_found_in_any_format_and_by_its_last_digits(people, query):
    assert found(query) == [people["garcia"]]


@pytest.mark.django_db
def test_a_foreign_number_and_a_landline(people):
    assert found("+41 79 123 45 67") == [people["muller"]]
    assert found("01 23 45 67 89") == [people["lefebvre"]]


@pytest.mark.django_db
def test_email_and_date_of_birth(people):
    assert found("mc.dupont@example.ORG") == [people["dupont"]]
    assert found("14/09/1966") == [people["dupont"]]
    assert found("1966-09-14") == [people["dupont"]]
    assert found("dupont 14/09/1966") == [people["dupont"]]
    assert found("garcia 14/09/1966") == []
    assert found("31/02/1966") == []


@pytest.mark.django_db
def test_nothing_typed_finds_nothing_and_words_must_all_match(people):
    assert found("") == [] and found("   ") == []
    assert found("garcia muller") == []


@pytest.mark.django_db
def test_the_stored_search_key_follows_the_names_written_by_the_service(reception):
    from sessions_app.services.clients import client_create, client_update

    client = client_create(
        by=reception, values={"first_name": "Ana", "last_name": "Núñez", "date_of_birth": dt.date(1990, 1, 2)}
    )
    assert client.search_key == "ana nunez"
    assert found("nunez") == [client]
    client_update(client_id=client.pk, version=client.version, by=reception, values={"last_name": "Ibáñez"})
    assert found("ibanez") == [Client.objects.get(pk=client.pk)]
    assert found("nunez") == []


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_small_typos_are_found_on_postgresql_closest_first(people):
    assert found("lefebre") == [people["lefebvre"]]
    assert found("muler") == [people["muller"]]
    near = make_client(first_name="Luc", last_name="Lefevre", phone="")
    assert found("lefebvre")[0] == people["lefebvre"]
    assert near in found("lefevre") and found("lefevre")[0] == near


@pytest.mark.django_db
def test_one_word_finds_the_last_names_it_begins_then_the_first_names_then_the_rest():
    martin = make_client(first_name="Zoé", last_name="Martin", phone="")
    marchand = make_client(first_name="Yves", last_name="Marchand", phone="")
    marie = make_client(first_name="Marie", last_name="Abadie", phone="")
    omar = make_client(first_name="Omar", last_name="Benali", phone="")
    make_client(first_name="Luc", last_name="Dubois", phone="")
    if connection.vendor == "postgresql":
        assert found("mar") == [marchand, martin, marie, omar]
        assert Client.objects.search_first("mar", 3) == [marchand, martin, marie]
        assert Client.objects.search_first("mar", 1) == [marchand]
    else:  # the stored search key, in search's order
        assert found("mar") == [marie, omar, marchand, martin]
    assert found("mar") == found("MÄR")
    assert Client.objects.search_first("", 10) == []


def explain(sql: str, params=None) -> str:
    """PostgreSQL's plan of a query (its SQL as captured, literals in it, when no params)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def crowd(people):
    """The people among 300 others, with the table's statistics read: enough rows
    for the planner to prefer an index."""
    for i in range(300):
        make_client(first_name=f"Name{i}", last_name=f"Other{i}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_client")


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_one_word_reads_the_name_prefix_indexes_on_postgresql(crowd):
    with CaptureQueriesContext(connection) as asked:
        Client.objects.active().search_first("garcia", 50)
    last_names, first_names = (explain(query["sql"]) for query in asked.captured_queries[:2])
    assert "client_search_last_first" in last_names
    assert "client_search_first_last" in first_names


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_the_search_reads_the_trigram_indexes_on_postgresql(crowd):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        plan = explain(*Client.objects.search("garcia").query.sql_with_params())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
    assert "client_search_name_trgm" in plan


def test_parse_search_reads_each_part():
    terms = parse_search("Dupont marie 14/09/1966 06 39 98 76 73 a@b.org", "FR")
    assert terms.words == ("dupont", "marie")
    assert terms.date_of_birth == dt.date(1966, 9, 14)
    assert terms.phone == "+33639987673"
    assert terms.email == "a@b.org"
    assert parse_search("7673", "FR").phone_digits == "7673"
    assert parse_search("06 39", "FR").phone_prefix == "+33639"


@pytest.mark.parametrize(
    "typed, first, last",
    [
        ("marie dupont", "Marie", "Dupont"),
        ("DUPONT Marie", "Marie", "Dupont"),
        ("garcía", "", "García"),
        ("jean-pierre de la fontaine", "Jean-Pierre", "De La Fontaine"),
        ("McAllister", "", "McAllister"),
    ],
)
def test_a_search_that_found_no_one_prefills_the_names(typed, first, last):
    guess = new_client_guess(typed, "FR")
    assert (guess.first_name, guess.last_name) == (first, last)


def test_a_search_that_found_no_one_prefills_phone_email_and_date():
    guess = new_client_guess("lopez 06 39 98 76 73 14/09/1966 l@example.org", "FR")
    assert guess.last_name == "Lopez"
    assert guess.phone == "+33639987673"
    assert guess.date_of_birth == dt.date(1966, 9, 14)
    assert guess.email == "l@example.org"


@pytest.mark.django_db
def test_the_booking_picker_uses_the_same_search(client, reception, people):
    client.force_login(reception)
    response = client.get(reverse("client_lookup"), {"q": "garcia"})
    assert list(response.context["clients"]) == [people["garcia"]]
    response = client.get(reverse("client_lookup"), {"q": "0639987673"})
    assert list(response.context["clients"]) == [people["garcia"]]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["garcia", "06 39 98 76 73", "7673", "14/09/1966"])
def test_search_pages_cost_a_fixed_number_of_queries(client, reception, query):
    client.force_login(reception)
    make_client(first_name="José", last_name="García", phone="06 39 98 76 73", date_of_birth=dt.date(1966, 9, 14))
    # session, user, roles and permissions (one query), the matching clients (at most a
    # page of them): on PostgreSQL one word is read a tier at a time (the last names
    # it begins, the first names, the rest), a query each until the page is full.
    tiers = 3 if connection.vendor == "postgresql" and query == "garcia" else 1
    with CaptureQueriesContext(connection) as few:
        first = client.get(reverse("client_search"), {"q": query})
    for i in range(60):
        make_client(
            # A family sharing one phone, and one birthday: every query finds them all.
            first_name=f"Ana{i}",
            last_name="Garcia",
            phone="06 39 98 76 73",
            date_of_birth=dt.date(1966, 9, 14),
        )
    with CaptureQueriesContext(connection) as many:
        second = client.get(reverse("client_search"), {"q": query})
    assert len(first.context["clients"]) == 1
    assert len(second.context["clients"]) > 1
    assert len(few) == 3 + tiers
    assert len(many) <= len(few)  # a full first tier asks no more
    # The booking page's picker: session, user, roles and permissions (one query), the
    # matches (20 at most).
    with CaptureQueriesContext(connection) as picker:
        client.get(reverse("client_lookup"), {"q": query})
    assert len(picker) <= 3 + tiers
