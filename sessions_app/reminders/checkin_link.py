"""The personal link of a check-in message: a signed token naming the message
(a reminder of kind check-in), and through it one client and one session.

The token is the message's id in base 62 and 10 characters (60 bits) of an
HMAC (django.core.signing, keyed by the secret key, a salt of its own) over
the message's id, client and session: "2Bik3J9aZ0xQw". Changing the id, or
pointing it at another client's or session's message, breaks the signature;
guessing one takes about 2^59 tries, each a request, and the page is rate
limited. It carries no personal data and no date: the message's due time says
when it was sent, and the link works for CHECK_IN_LINK_DAYS after that. A link
answers once (CheckIn.reminder is unique). It is as short as the SMS stop link
so that one SMS part holds the message and its link.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from sessions_app.reminders.unsubscribe import _BASE62, _base62, _from_base62

_SALT = "sessions_app.reminders.checkin_link"
_SIGNATURE_LENGTH = 10
# How long a check-in link works after its message was due.
CHECK_IN_LINK_DAYS = 14
# What the URL pattern accepts: the id's base 62 and the signature's URL-safe base 64.
TOKEN_PATTERN = r"[0-9A-Za-z_-]{11,24}"
_TOKEN = re.compile(TOKEN_PATTERN)


class BadCheckInLink(Exception):
    """Not a link this clinic made: damaged, cut short or forged."""


def _signature(reminder_id: int, client_id: int, session_id: int) -> str:
    return signing.Signer(salt=_SALT).signature(f"{reminder_id}:{client_id}:{session_id}")[:_SIGNATURE_LENGTH]


def check_in_token(reminder_id: int, client_id: int, session_id: int) -> str:
    return _base62(reminder_id) + _signature(reminder_id, client_id, session_id)


def token_reminder_id(token: str) -> int:
    """The message a token names; BadCheckInLink when it cannot be one. The
    signature is checked against that message's client and session
    (`token_matches`) once it is loaded."""
    if not _TOKEN.fullmatch(token or ""):
        raise BadCheckInLink("Malformed check-in link.")
    reminder_id = _from_base62(token[:-_SIGNATURE_LENGTH])
    if reminder_id is None or any(c not in _BASE62 for c in token[:-_SIGNATURE_LENGTH]):
        raise BadCheckInLink("Malformed check-in link.")
    return reminder_id


def token_matches(token: str, *, reminder_id: int, client_id: int, session_id: int) -> bool:
    expected = _signature(reminder_id, client_id, session_id)
    return constant_time_compare(token[-_SIGNATURE_LENGTH:], expected)


def check_in_expires_at(due_at: dt.datetime) -> dt.datetime:
    return due_at + dt.timedelta(days=CHECK_IN_LINK_DAYS)


def check_in_url(reminder_id: int, client_id: int, session_id: int) -> str:
    return settings.CLINIC_BASE_URL + reverse("check_in", args=[check_in_token(reminder_id, client_id, session_id)])
