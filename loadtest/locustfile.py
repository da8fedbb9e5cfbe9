"""The load run's visitors (scripts/loadrun): staff signed in with the demo
accounts, each role opening the pages its day is made of, with a pause of a
few seconds between pages as a person reading them takes.

Run by scripts/loadrun against the app under gunicorn on loopback; every
request goes to the --host given, on this machine only.
"""

import math
import random
import re
import time
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

PASSWORD = "mesoclinic-demo"
# Name prefixes reception types (the demo's last names).
SEARCHES = ["mar", "ber", "dub", "lef", "ros", "mul", "gar", "san", "dup", "mor"]
CLIENT_LINK = re.compile(r'href="/clients/(\d+)/"')
LOT_LINK = re.compile(r'href="/lots/(\d+)/"')


# Page views only: signing in (a deliberately slow password hash) is reported
# apart. Each view as (when it ended, how long it took in ms).
_pages: list[tuple[float, float]] = []
_signed_in: list[float] = []  # when each sign-in ended
_started: list[float] = []


@events.request.add_listener
def _record(name, response_time, exception, **kwargs):
    if exception is not None:
        return
    if name.startswith("/login/ (sign in)"):
        _signed_in.append(time.monotonic())
    elif not name.startswith("/login/"):
        _pages.append((time.monotonic(), response_time))


@events.test_start.add_listener
def _start(**kwargs):
    _started.append(time.monotonic())


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)

    def rank(share):
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    return f"p50 {rank(0.5):.0f} ms, p95 {rank(0.95):.0f} ms, max {ordered[-1]:.0f} ms"


@events.quitting.add_listener
def _summary(environment, **kwargs):
    if not _pages or not _started:
        return
    seconds = time.monotonic() - _started[0]
    print(
        f"PAGES: {len(_pages)} page views in {seconds:.0f} s, {len(_pages) / seconds:.1f} per second, "
        + _percentiles([spent for _, spent in _pages])
    )
    # Once everyone is signed in: the pages without the opening rush of
    # password hashes, as a clinic's day is once its staff have arrived.
    settled = [spent for ended, spent in _pages if _signed_in and ended - spent / 1000 > max(_signed_in)]
    if settled:
        print(f"SETTLED: {len(settled)} page views after the last sign-in, " + _percentiles(settled))


def _at_sign_in(response) -> bool:
    """Whether a request ended on the sign-in page (after its redirects)."""
    return urlsplit(response.url or "").path == "/login/"


class Staff(HttpUser):
    abstract = True
    wait_time = between(1, 4)
    username = ""

    def on_start(self):
        login = self.client.get("/login/", name="/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        with self.client.post(
            "/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="/login/ (sign in)",
            catch_response=True,
        ) as signed_in:
            if _at_sign_in(signed_in):
                signed_in.failure("the sign-in was refused")
        # Some clients to open, found the way reception finds them.
        page = self.page(f"/clients/?q={random.choice(SEARCHES)}", "/clients/?q=…")
        self.client_ids = CLIENT_LINK.findall(page.text) or ["1"]

    def page(self, url: str, name: str):
        """A page, counted as failed when it ended on the sign-in page: a
        session lost mid-run must not pass for a fast page view."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if _at_sign_in(response):
                response.failure("signed out: the page led to the sign-in page")
        return response

    def open_client(self):
        self.page(f"/clients/{random.choice(self.client_ids)}/", "/clients/<id>/")

    def search(self):
        page = self.page(f"/clients/?q={random.choice(SEARCHES)}", "/clients/?q=…")
        self.client_ids = CLIENT_LINK.findall(page.text) or self.client_ids


class Reception(Staff):
    weight = 3
    username = "reception"

    @task(4)
    def dashboard(self):
        self.page("/", "/ (dashboard)")

    @task(4)
    def day(self):
        self.page("/schedule/", "/schedule/")

    @task(2)
    def week(self):
        self.page("/schedule/?view=week", "/schedule/?view=week")

    @task(3)
    def find_client(self):
        self.search()

    @task(3)
    def client_page(self):
        self.open_client()

    @task(2)
    def calls(self):
        self.page("/calls/", "/calls/")


class Practitioner(Staff):
    weight = 3
    username = "practitioner"

    def on_start(self):
        super().on_start()
        lots = self.page("/lots/?q=DEMO", "/lots/?q=…")
        self.lot_ids = LOT_LINK.findall(lots.text) or ["1"]

    @task(4)
    def dashboard(self):
        self.page("/", "/ (dashboard)")

    @task(2)
    def day(self):
        self.page("/schedule/", "/schedule/")

    @task(5)
    def client_page(self):
        self.open_client()

    @task(2)
    def side_effects(self):
        self.page("/side-effects/", "/side-effects/")

    @task(1)
    def lot_trace(self):
        self.page(f"/lots/{random.choice(self.lot_ids)}/", "/lots/<id>/")


class Manager(Staff):
    weight = 1
    username = "manager"

    @task(2)
    def dashboard(self):
        self.page("/", "/ (dashboard)")

    @task(1)
    def clients(self):
        self.page("/admin/sessions_app/client/", "/admin/…/client/")

    @task(1)
    def sessions(self):
        self.page("/admin/sessions_app/treatmentsession/", "/admin/…/treatmentsession/")

    @task(1)
    def reminders(self):
        self.page("/admin/sessions_app/reminder/", "/admin/…/reminder/")
