"""Phone numbers: one canonical form stored (E.164, "+33639987673"), the
clinic's national format shown ("06 39 98 76 73"). Pure functions over
Google's libphonenumber rules (the `phonenumbers` package); the clinic's
region (CLINIC_PHONE_REGION) is passed in, so these are tested without Django.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

# What a typed phone may contain besides digits: spaces, dots, dashes,
# brackets, a leading "+", and an extension mark is refused.
_PHONE_CHARS = re.compile(r"^[\d\s().+\-/]+$")


class InvalidPhone(ValueError):
    """The text is not a phone number that can exist; the message says why, for the person who typed it."""


def phone_to_e164(text: str, region: str) -> str:
    """The E.164 form of what was typed ("06 39 98 76 73", "+33 6 39..."),
    "" for nothing typed. InvalidPhone when it cannot be a phone number of
    `region` (or of the country its "+" or "00" prefix names)."""
    text = (text or "").strip()
    if not text:
        return ""
    if not _PHONE_CHARS.match(text):
        raise InvalidPhone("A phone number has digits, spaces and perhaps a leading +; nothing else.")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(_why(exc, text)) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(_impossible(number, text))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _why(exc: NumberParseException, text: str) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return f"“{text}” starts with no country code that exists: type the number as you would dial it."
    if exc.error_type in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return f"“{text}” is too short to be a phone number."
    if exc.error_type == NumberParseException.TOO_LONG:
        return f"“{text}” is too long to be a phone number."
    return f"“{text}” is not a phone number."


def _impossible(number: phonenumbers.PhoneNumber, text: str) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    country = f" (+{number.country_code})"
    if reason in (phonenumbers.ValidationResult.TOO_SHORT, phonenumbers.ValidationResult.INVALID_LENGTH):
        return f"“{text}” has too few digits for a phone number{country}."
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return f"“{text}” has too many digits for a phone number{country}."
    return f"“{text}” cannot be a phone number{country}."


def phone_display(stored: str, region: str) -> str:
    """How staff read a stored number: the national format for the clinic's
    own country, the international one for others; a number kept as it was
    typed (one the migration could not read) is shown as it is."""
    if not stored or not stored.startswith("+"):
        return stored or ""
    try:
        number = phonenumbers.parse(stored, None)
    except NumberParseException:
        return stored
    if phonenumbers.region_code_for_number(number) == region or (
        number.country_code == phonenumbers.country_code_for_region(region)
    ):
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def phone_dial(stored: str) -> str:
    """For a tel: link: the E.164 form as stored, or the digits of a number kept as typed."""
    return stored if stored.startswith("+") else re.sub(r"[^\d+]", "", stored or "")


def is_canonical(stored: str) -> bool:
    """Whether a stored number is in the E.164 form the app writes (an old
    number the migration could not read is not)."""
    return not stored or bool(re.fullmatch(r"\+[1-9]\d{1,14}", stored))
