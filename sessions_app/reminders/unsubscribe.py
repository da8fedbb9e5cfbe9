"""One-click unsubscribe: a signed token per client and channel in every
message, and the write that withdraws the client's agreement.

The token is signed with the secret key (django.core.signing), so it cannot be
forged or pointed at another client, and never expires: a link in an old email
must still work. It carries no personal data beyond the client's id.

It is short on purpose. An email's ("42e.k3J9...", 16 characters of
signature, 96 bits): Python's email package encodes a List-Unsubscribe header
whose address is longer than 75 characters, which mail programs then ignore;
with a CLINIC_BASE_URL of up to 48 characters the address fits. An SMS's is
shorter still, as its link comes out of the 160 characters of one part: the
client id in base 62 and 10 characters (60 bits) of the same signature, no
separator ("2Bik3J9aZ0xQw", 13 characters for client 10,000). Guessing one
takes about 2^59 tries, each a request. Both kinds open the same page; the
SMS links sent before the short ones still work.
"""

from __future__ import annotations

import string

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from sessions_app.models import Client, ReminderChannel
from sessions_app.services.clients import client_consent_withdraw

_SALT = "sessions_app.reminders.unsubscribe"
# Short codes keep the SMS link short.
_CODES = {ReminderChannel.EMAIL: "e", ReminderChannel.SMS: "s"}
_CHANNELS = {code: channel for channel, code in _CODES.items()}


_SIGNATURE_LENGTH = 16
_SMS_SIGNATURE_LENGTH = 10
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _signature(value: str, length: int = _SIGNATURE_LENGTH) -> str:
    return signing.Signer(salt=_SALT).signature(value)[:length]


def _base62(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 62)
        digits = _BASE62[digit] + digits
        if not number:
            return digits


def _from_base62(text: str) -> int | None:
    """The number, or None for anything but a number written as _base62 writes it."""
    if not 1 <= len(text) <= 11 or any(c not in _BASE62 for c in text) or (text[0] == "0" and len(text) > 1):
        return None
    number = 0
    for c in text:
        number = number * 62 + _BASE62.index(c)
    return number


def unsubscribe_token(client_id: int, channel: str) -> str:
    value = f"{client_id}{_CODES[channel]}"
    if channel == ReminderChannel.SMS:
        return _base62(client_id) + _signature(value, _SMS_SIGNATURE_LENGTH)
    return f"{value}.{_signature(value)}"


def read_token(token: str) -> tuple[int, str]:
    """(client id, channel); signing.BadSignature for a forged or damaged token."""
    if "." not in token:  # an SMS's short token
        client_id = _from_base62(token[:-_SMS_SIGNATURE_LENGTH])
        value = f"{client_id}{_CODES[ReminderChannel.SMS]}"
        signature = token[-_SMS_SIGNATURE_LENGTH:]
        if client_id is None or not constant_time_compare(signature, _signature(value, _SMS_SIGNATURE_LENGTH)):
            raise signing.BadSignature("Bad unsubscribe token.")
        return client_id, ReminderChannel.SMS
    value, _, signature = token.partition(".")
    if not signature or not constant_time_compare(signature, _signature(value)):
        raise signing.BadSignature("Bad unsubscribe token.")
    client_id, code = value[:-1], value[-1:]
    if not client_id.isdigit() or code not in _CHANNELS:
        raise signing.BadSignature("Malformed unsubscribe token.")
    return int(client_id), _CHANNELS[code]


def unsubscribe_url(client_id: int, channel: str) -> str:
    return settings.CLINIC_BASE_URL + reverse("unsubscribe", args=[unsubscribe_token(client_id, channel)])


def unsubscribe_reason(channel: str) -> str:
    """What an unsubscribe writes in the client's history: the reports count
    unsubscribes by it, per channel."""
    return f"Unsubscribed from {channel} reminders by the link in a message"


def client_unsubscribe(*, client_id: int, channel: str) -> Client:
    """Withdraw the client's agreement to reminders by `channel`, through the
    client service (a new version of the record, its history saying it was
    the client's link). Doing it twice changes nothing. Reminders already
    queued for that channel become call tasks when their time comes. A link
    from before a merge names the merged record: the agreement withdrawn is
    that of the record kept, which the messages now go to."""
    return client_consent_withdraw(client_id=client_id, channel=channel, reason=unsubscribe_reason(channel))
