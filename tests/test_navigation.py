"""The main menu: each role's holds exactly the pages it may open, and an
entry is marked current on the pages inside its section too
(sessions_app/navigation.py)."""

import re

import pytest
from django.urls import reverse

from sessions_app.models import Role
from sessions_app.navigation import SECTIONS

from .factories import make_lot, make_side_effect, make_user
from .test_url_matrix import url_names

MENU = re.compile(r'<ul class="navbar-nav me-auto">(.*?)</ul>', re.S)
LINK = re.compile(r'<a ([^>]*)href="([^"]+)"[^>]*>([^<]+)</a>')


def menu(page: str) -> dict[str, str]:
    """The menu's links, href: the attributes before it."""
    [block] = MENU.findall(page)
    return {href: attrs for attrs, href, _label in LINK.findall(block)}


def test_every_page_the_sections_name_exists():
    names = url_names()
    assert {page for entry, pages in SECTIONS.items() for page in (entry, *pages)} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.RECEPTION, Role.PRACTITIONER, Role.MANAGER, None])
def test_each_roles_menu_holds_exactly_the_pages_it_may_open(client, role):
    client.force_login(make_user(role))
    shown = set(menu(client.get(reverse("dashboard")).content.decode()))
    entries = [reverse(entry) for entry in SECTIONS] + [reverse("admin:index")]
    may_open = {url for url in entries if client.get(url).status_code == 200}
    assert shown == may_open


@pytest.mark.django_db
def test_an_entry_is_current_on_the_pages_inside_it(client):
    practitioner = make_user(Role.PRACTITIONER)
    effect = make_side_effect()
    lot = make_lot()
    client.force_login(practitioner)
    side_effects, clients, lots = reverse("side_effect_list"), reverse("client_search"), reverse("lot_search")
    for url, entry, current in [
        (side_effects, side_effects, "page"),
        (reverse("side_effect_signal"), side_effects, "true"),
        (reverse("side_effect_detail", args=[effect.pk]), side_effects, "true"),
        (reverse("side_effect_edit", args=[effect.pk]), side_effects, "true"),
        (clients, clients, "page"),
        (reverse("client_detail", args=[effect.client_id]), clients, "true"),
        (lots, lots, "page"),
        (reverse("lot_trace", args=[lot.pk]), lots, "true"),
        (reverse("reports_section", args=["series"]), reverse("reports"), "true"),
    ]:
        links = menu(client.get(url).content.decode())
        marked = {href: attrs for href, attrs in links.items() if "active" in attrs}
        assert list(marked) == [entry], url
        assert f'aria-current="{current}"' in marked[entry], url
