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

from locust import HttpUser, between, events, task

PASSWORD = "mesoclinic-demo"
# Name prefixes reception types (the demo's last names).
SEARCHES = ["mar", "ber", "dub", "lef", "ros", "mul", "gar", "san", "dup", "mor"]
CLIENT_LINK = re.compile(r'href="/clients/(\d+)/"')
LOT_LINK = re.compile(r'href="/lots/(\d+)/"')


# Page views only: signing in (a deliberately slow password hash) is reported apart.
_pages: list[float] = []
_started: list[float] = []


@events.request.add_listener
def _record(name, response_time, exception, **kwargs):
    if not name.startswith("/login/") and exception is None:
        _pages.append(response_time)


@events.test_start.add_listener
def _start(**kwargs):
    _started.append(time.monotonic())


@events.quitting.add_listener
def _summary(environment, **kwargs):
    if not _pages or not _started:
        return
    ordered = sorted(_pages)

    def rank(share):
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    seconds = time.monotonic() - _started[0]
    print(
        f"PAGES: {len(ordered)} page views in {seconds:.0f} s, {len(ordered) / seconds:.1f} per second, "
        f"p50 {rank(0.5):.0f} ms, p95 {rank(0.95):.0f} ms, max {ordered[-1]:.0f} ms"
    )


class Staff(HttpUser):
    abstract = True
    wait_time = between(1, 4)
    username = ""

    def on_start(self):
        login = self.client.get("/login/", name="/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        self.client.post(
            "/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="/login/ (sign in)",
        )
        # Some clients to open, found the way reception finds them.
        page = self.client.get(f"/clients/?q={random.choice(SEARCHES)}", name="/clients/?q=…")
        self.client_ids = CLIENT_LINK.findall(page.text) or ["1"]

    def open_client(self):
        self.client.get(f"/clients/{random.choice(self.client_ids)}/", name="/clients/<id>/")

    def search(self):
        page = self.client.get(f"/clients/?q={random.choice(SEARCHES)}", name="/clients/?q=…")
        self.client_ids = CLIENT_LINK.findall(page.text) or self.client_ids


class Reception(Staff):
    weight = 3
    username = "reception"

    @task(4)
    def dashboard(self):
        self.client.get("/", name="/ (dashboard)")

    @task(4)
    def day(self):
        self.client.get("/schedule/", name="/schedule/")

    @task(2)
    def week(self):
        self.client.get("/schedule/?view=week", name="/schedule/?view=week")

    @task(3)
    def find_client(self):
        self.search()

    @task(3)
    def client_page(self):
        self.open_client()

    @task(2)
    def calls(self):
        self.client.get("/calls/", name="/calls/")


class Practitioner(Staff):
    weight = 3
    username = "practitioner"

    def on_start(self):
        super().on_start()
        lots = self.client.get("/lots/?q=DEMO", name="/lots/?q=…")
        self.lot_ids = LOT_LINK.findall(lots.text) or ["1"]

    @task(4)
    def dashboard(self):
        self.client.get("/", name="/ (dashboard)")

    @task(2)
    def day(self):
        self.client.get("/schedule/", name="/schedule/")

    @task(5)
    def client_page(self):
        self.open_client()

    @task(2)
    def side_effects(self):
        self.client.get("/side-effects/", name="/side-effects/")

    @task(1)
    def lot_trace(self):
        self.client.get(f"/lots/{random.choice(self.lot_ids)}/", name="/lots/<id>/")


class Manager(Staff):
    weight = 1
    username = "manager"

    @task(2)
    def dashboard(self):
        self.client.get("/", name="/ (dashboard)")

    @task(1)
    def clients(self):
        self.client.get("/admin/sessions_app/client/", name="/admin/…/client/")

    @task(1)
    def sessions(self):
        self.client.get("/admin/sessions_app/treatmentsession/", name="/admin/…/treatmentsession/")

    @task(1)
    def reminders(self):
        self.client.get("/admin/sessions_app/reminder/", name="/admin/…/reminder/")
