"""The pages staff open all day, each as the role that opens it, timed
through Django's test client: the whole request (middleware, session, views,
queries, templates), without the network or a web server.

Every size is timed in the same process, request by request: each run goes
round the pages (page 1, page 2, ..., page 1, page 2, ...) and each page is
asked of every size in turn (`schedule`), so a burst of load on a shared
machine falls on every page and every size alike, and the ratio of two sizes'
timings says what the data's size costs, not what the machine was doing.

The floor pages (an empty page through the same middleware, sign-in and base
template, one per role) are timed the same way: each page's p50 is read as a
multiple of its role's floor.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.test import Client as TestClient
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from devtools.demo import DEMO_MANAGER, DEMO_PRACTITIONERS, DEMO_RECEPTION
from sessions_app.models import Client, ProductLot, Screening, Severity, TreatmentSession, User
from sessions_app.phones import phone_display
from sessions_app.reports.queries import SECTIONS

# A name prefix reception types: it matches Martin, Marchand, Martinez, Marie...
SEARCH = "mar"


@dataclass(frozen=True)
class Subjects:
    """What the pages with an id are about, chosen the same way in every data set."""

    client_id: int  # the client with the longest history (among those with both alerts: pick)
    client_sessions: int
    lot_id: int  # the lot given to the most clients
    lot_injections: int
    # The schedules are timed ahead, where every session is still to come (and
    # has its clearance badge), so the time of day the bench runs changes nothing.
    next_day: dt.date  # the next day with sessions booked
    next_week: dt.date  # next Monday
    # A client's phone as reception types it when they call ("06 39 98 12 34"):
    # the client with the longest history's, in the clinic's national format.
    phone: str = ""
    # The practitioner with the most sessions next week, and how many.
    busiest_practitioner_id: int = 0
    busiest_week_sessions: int = 0
    # The record pages: the form of the next session booked (its client's whole
    # year in the ledger), and the last signed record of the longest history.
    next_session_id: int = 0
    signed_session_id: int = 0

    @classmethod
    def pick(cls) -> Subjects:
        # The treatment rule reads a mixture's substances only for a client with
        # an allergy, and the areas only for an in-area condition: the client
        # page and the week are picked among those with both (a week: with a
        # client of each), so that every size's page makes every read it can
        # and the sizes compare like with like.
        alerted = alerted_clients()
        client = (
            Client.objects.filter(pk__in=alerted).annotate(n=Count("plans__sessions")).order_by("-n", "pk").first()
            or Client.objects.annotate(n=Count("plans__sessions")).order_by("-n", "pk").first()
        )
        lot = ProductLot.objects.annotate(n=Count("injections")).order_by("-n", "pk").first()
        today = timezone.localdate()
        tomorrow = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
        ahead = TreatmentSession.objects.filter(starts_at__gte=tomorrow).order_by("starts_at").first()
        if client is None or lot is None or ahead is None:
            raise ValueError("The benchmark needs demo data: no client, no lot or no session ahead found.")
        signed = (
            TreatmentSession.objects.filter(plan__client=client, signed_at__isnull=False).order_by("-starts_at").first()
        )
        next_day = timezone.localtime(ahead.starts_at).date()
        monday = today + dt.timedelta(days=7 - today.weekday())
        week = timezone.make_aware(dt.datetime.combine(monday, dt.time.min))
        weeks = (
            TreatmentSession.objects.filter(starts_at__gte=week, starts_at__lt=week + dt.timedelta(days=7))
            .not_cancelled()
            .values("practitioner_id")
            .annotate(
                n=Count("pk"),
                allergic=Count("pk", filter=Q(plan__client_id__in=allergic_clients())),
                in_area=Count("pk", filter=Q(plan__client_id__in=in_area_clients())),
            )
            .order_by("-n", "practitioner_id")
        )
        busiest = (
            weeks.filter(allergic__gt=0, in_area__gt=0).first()
            or weeks.first()
            or {"practitioner_id": ahead.practitioner_id, "n": 0}
        )
        phoned = Client.objects.exclude(phone="").order_by("pk").values_list("phone", flat=True).first() or ""
        phone = phone_display(client.phone or phoned, settings.CLINIC_PHONE_REGION)
        return cls(
            client.pk,
            client.n,
            lot.pk,
            lot.n,
            next_day,
            monday,
            phone,
            busiest["practitioner_id"],
            busiest["n"],
            ahead.pk,
            signed.pk if signed else ahead.pk,
        )


def allergic_clients() -> QuerySet:
    """The ids of the clients with an allergy on record."""
    return Client.allergies.through.objects.values("client_id")


def in_area_clients() -> QuerySet:
    """The ids of the clients whose latest screening has a condition that
    rules treatment out in some areas."""
    latest = Screening.objects.filter(pk=Screening.latest_of_client())
    return latest.filter(answers__answer=True, answers__severity=Severity.IN_AREA).values("client_id")


def alerted_clients() -> QuerySet:
    """The ids of the clients with both."""
    return Client.objects.filter(pk__in=allergic_clients()).filter(pk__in=in_area_clients()).values("pk")


@dataclass(frozen=True)
class Page:
    name: str
    username: str
    path: Callable[[Subjects], str]
    # The p95 the page must stay under with the largest data set, in ms.
    p95_target_ms: float = 50
    # Whether its p95 must stay within P95_RATIO_MAX of the smaller set's: pages
    # that read a page of rows must; the reports, which aggregate every session
    # of their period, grow with the clinic by nature and are held to their p95.
    flat: bool = True
    # The floor: an empty page, what every page pays before its own work.
    floor: bool = False

    @property
    def role(self) -> str:
        return self.username.rstrip("0123456789")


def _admin(model: str) -> Callable[[Subjects], str]:
    return lambda s: reverse(f"admin:sessions_app_{model}_changelist")


def _reports(section: str) -> Callable[[Subjects], str]:
    return lambda s: reverse("reports_section", args=[section])


PRACTITIONER = DEMO_PRACTITIONERS[0]
# The floor of each role (the menu differs by role): devtools/views.py.
FLOORS = tuple(
    Page("floor: an empty page", username, lambda s: reverse("bench_floor"), floor=True)
    for username in (DEMO_RECEPTION, PRACTITIONER, DEMO_MANAGER)
)
# The URLs the bench serves: the clinic's and the floor page.
URLCONF = "devtools.urls"
PAGES = (
    *FLOORS,
    Page("dashboard", DEMO_RECEPTION, lambda s: reverse("dashboard")),
    Page("dashboard", PRACTITIONER, lambda s: reverse("dashboard")),
    Page("day calendar, next day booked", DEMO_RECEPTION, lambda s: reverse("schedule") + f"?date={s.next_day}"),
    Page(
        "week calendar, busiest practitioner",
        DEMO_RECEPTION,
        lambda s: reverse("schedule") + f"?view=week&date={s.next_week}&practitioner={s.busiest_practitioner_id}",
    ),
    Page(
        "week at a glance, everyone",
        DEMO_RECEPTION,
        lambda s: reverse("schedule") + f"?view=week&date={s.next_week}",
    ),
    Page(f"client search '{SEARCH}'", DEMO_RECEPTION, lambda s: reverse("client_search") + f"?q={SEARCH}"),
    # Accents ignored (García and Garcia both among the demo's names), the closest first.
    Page("client search 'garcia'", DEMO_RECEPTION, lambda s: reverse("client_search") + "?q=garcia"),
    Page(
        "client search by phone", DEMO_RECEPTION, lambda s: reverse("client_search") + "?" + urlencode({"q": s.phone})
    ),
    Page("client page, longest history", PRACTITIONER, lambda s: reverse("client_detail", args=[s.client_id])),
    Page("screening form", PRACTITIONER, lambda s: reverse("screening_new", args=[s.client_id])),
    Page("record form, next session", PRACTITIONER, lambda s: reverse("session_record", args=[s.next_session_id])),
    Page(
        "signed record, longest history",
        PRACTITIONER,
        lambda s: reverse("session_record", args=[s.signed_session_id]),
    ),
    Page("open side effects", PRACTITIONER, lambda s: reverse("side_effect_list")),
    # A year of every session, counted five ways in SQL: issue 16 sets 100 ms.
    Page("side-effect signal, last 12 months", PRACTITIONER, lambda s: reverse("side_effect_signal"), 100),
    Page("call list", DEMO_RECEPTION, lambda s: reverse("call_list")),
    Page("lot trace, most used lot", PRACTITIONER, lambda s: reverse("lot_trace", args=[s.lot_id])),
    Page("dashboard", DEMO_MANAGER, lambda s: reverse("dashboard")),
    # The budget for the reports: 150 ms, each tab on the period it opens on.
    *(
        Page(f"reports: {section.title.lower()}", DEMO_MANAGER, _reports(section.slug), p95_target_ms=150, flat=False)
        for section in SECTIONS
    ),
    Page("reports: all, to print", DEMO_MANAGER, _reports("all"), p95_target_ms=500, flat=False),
    Page("staff", DEMO_MANAGER, lambda s: reverse("staff_list")),
    Page("admin: clients", DEMO_MANAGER, _admin("client")),
    Page("admin: sessions", DEMO_MANAGER, _admin("treatmentsession")),
    Page("admin: reminders", DEMO_MANAGER, _admin("reminder")),
)


@dataclass(frozen=True)
class PageTiming:
    page: Page
    url: str
    p50_ms: float
    p95_ms: float
    queries: int
    size_kb: float


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least `share` of the values reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class PageError(Exception):
    """A page did not answer 200: a benchmark of an error page means nothing."""


def _get(client: TestClient, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise PageError(f"GET {url} answered {response.status_code}")
    return response


@dataclass(frozen=True)
class Size:
    """One data set to time: what its pages are about, and how to point
    Django's default connection at its database (done between requests,
    outside the timed window)."""

    subjects: Subjects
    use: Callable[[], object]


def schedule(pages: int, sizes: int, runs: int) -> Iterator[tuple[int, int]]:
    """(page, size) in the order they are requested: run after run, page
    after page, each page of every size in turn (A, B, A, B...). The size asked
    first rotates from one run to the next (A, B in the first run, B, A in the
    second), so that neither always meets a page right after the other size
    warmed it."""
    for run in range(runs):
        for page in range(pages):
            for turn in range(sizes):
                yield page, (run + turn) % sizes


def time_pages(
    sizes: Sequence[Size], pages: Sequence[Page] = PAGES, *, warmup: int, runs: int
) -> list[list[PageTiming]]:
    """For each size, p50 and p95 of `runs` requests to each page after
    `warmup` untimed ones (all in `schedule`'s order, the sizes alternated),
    and the queries one request makes (counted on requests of their own, so
    that counting does not slow the timed ones)."""
    with override_settings(ROOT_URLCONF=URLCONF):
        return _time_pages(sizes, pages, warmup=warmup, runs=runs)


def _time_pages(sizes: Sequence[Size], pages: Sequence[Page], *, warmup: int, runs: int) -> list[list[PageTiming]]:
    # Each size its own signed-in clients: a session lives in its size's database.
    clients: list[dict[str, TestClient]] = []
    urls: list[list[str]] = []
    for size in sizes:
        size.use()
        signed_in = {}
        for username in dict.fromkeys(page.username for page in pages):
            signed_in[username] = TestClient()
            signed_in[username].force_login(User.objects.get(username=username))
        clients.append(signed_in)
        urls.append([page.path(size.subjects) for page in pages])
    for p, k in schedule(len(pages), len(sizes), warmup):
        sizes[k].use()
        _get(clients[k][pages[p].username], urls[k][p])
    queries: list[list[int]] = []
    kilobytes: list[list[float]] = []
    for k, size in enumerate(sizes):
        size.use()
        queries.append([])
        kilobytes.append([])
        for page, url in zip(pages, urls[k], strict=True):
            # Twice, the fewer kept: at most once a minute a request also renews
            # its session (IdleTimeoutMiddleware: a savepoint, an UPDATE, a
            # release), which is no query of the page's.
            counts = []
            for _ in range(2):
                with CaptureQueriesContext(connection) as counted:
                    response = _get(clients[k][page.username], url)
                counts.append(len(counted))
            queries[k].append(min(counts))
            kilobytes[k].append(len(response.content) / 1024)
    # As clinic/wsgi.py does once the app is loaded: what lives on (the app, and
    # here the seed's leftovers) is kept out of the garbage collector's scans.
    gc.collect()
    gc.freeze()
    times: list[list[list[float]]] = [[[] for _ in pages] for _ in sizes]
    for p, k in schedule(len(pages), len(sizes), runs):
        sizes[k].use()  # outside the timed window: an assignment, no reconnection
        client, url = clients[k][pages[p].username], urls[k][p]
        start = time.perf_counter()
        _get(client, url)
        times[k][p].append((time.perf_counter() - start) * 1000)
    return [
        [
            PageTiming(page, url, percentile(spent, 0.5), percentile(spent, 0.95), n, kb)
            for page, url, spent, n, kb in zip(pages, urls[k], times[k], queries[k], kilobytes[k], strict=True)
        ]
        for k in range(len(sizes))
    ]
