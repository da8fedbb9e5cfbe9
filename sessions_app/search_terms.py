"""What reception typed into a client search, read as a person would read it.

Pure functions, no ORM: `parse_search` splits "dupont 14/09/1966", "06 39 98
76 73" or "marie.dupont@example.org" into name words, a date of birth, a phone
and an email; `fold` is the one normal form of a name (no accents, no case,
punctuation as spaces) that the stored search key and the SQLite search use;
`new_client_guess` pre-fills the new-client form from a search that found no
one. `ClientQuerySet.search` (models/clients.py) turns the terms into a query.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from sessions_app.phones import InvalidPhone, phone_to_e164

# Letters NFKD does not split into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"})
_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE_PART = re.compile(r"^[+(]?[\d().\-/]*\d[\d().\-/]*$")
# Fewer digits than this are part of nothing reception would look a phone up by.
PHONE_MIN_DIGITS = 4


def fold(text: str) -> str:
    """ "García-López, Zoë" -> "garcia lopez zoe": accents and case gone,
    anything but letters and digits a single space."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def search_key(first_name: str, last_name: str) -> str:
    """The stored, folded name a client is found by on SQLite (PostgreSQL
    reads the names themselves through unaccent)."""
    return fold(f"{first_name} {last_name}")


@dataclass(frozen=True)
class SearchTerms:
    words: tuple[str, ...] = ()  # folded name words, each to be found somewhere in the name
    date_of_birth: dt.date | None = None
    email: str = ""
    phone: str = ""  # E.164, when what was typed is a whole number
    phone_digits: str = ""  # else the digits typed, a part of a number
    phone_prefix: str = ""  # and, typed nationally ("06 39 98"), the E.164 start it stands for
    unread: tuple[str, ...] = field(default=())  # a date that does not exist ("31/02/1990")

    @property
    def empty(self) -> bool:
        return not (self.words or self.date_of_birth or self.email or self.phone or self.phone_digits or self.unread)


def _date(token: str) -> dt.date | None | bool:
    """A date of birth typed day first ("14/09/1966", "14.09.1966") or ISO;
    None when the token is no date, False when it looks like one but does not exist."""
    if m := _DATE.match(token):
        day, month, year = (int(g) for g in m.groups())
    elif m := _ISO_DATE.match(token):
        year, month, day = (int(g) for g in m.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return False


def parse_search(query: str, region: str) -> SearchTerms:
    """Split a search into its parts. The phone is every token made of digits
    (and + ( ) . - /), joined: "06 39 98 76 73" is one number."""
    words: list[str] = []
    phone_tokens: list[str] = []
    dob = None
    email = ""
    unread: list[str] = []
    for token in (query or "").split():
        when = _date(token)
        if when:
            dob = when
        elif when is False:
            unread.append(token)
        elif _EMAIL.match(token):
            email = token.casefold()
        elif _PHONE_PART.match(token):
            phone_tokens.append(token)
        else:
            words.extend(fold(token).split())
    phone = digits = prefix = ""
    typed = " ".join(phone_tokens)
    only_digits = re.sub(r"\D", "", typed)
    if only_digits:
        try:
            phone = phone_to_e164(typed, region) if len(only_digits) >= 8 else ""
        except InvalidPhone:
            phone = ""
        if not phone:
            if len(only_digits) < PHONE_MIN_DIGITS:
                # "12" is no phone: maybe part of a name ("Marie 2"); searched as a word.
                words.extend(only_digits.split())
            else:
                digits = only_digits
                prefix = _prefix(typed, only_digits, region)
    return SearchTerms(tuple(words), dob, email, phone, digits, prefix, tuple(unread))


def _prefix(typed: str, digits: str, region: str) -> str:
    """The start of an E.164 number a partial number stands for: "+33 6 39"
    and "0033 6 39" for "+33639", "06 39" nationally for "+33639"."""
    if typed.lstrip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata else None
    if trunk and digits.startswith(trunk):
        return f"+{phonenumbers.country_code_for_region(region)}{digits[len(trunk) :]}"
    return ""


@dataclass(frozen=True)
class NewClientGuess:
    first_name: str = ""
    last_name: str = ""
    date_of_birth: dt.date | None = None
    email: str = ""
    phone: str = ""


def _name_case(word: str) -> str:
    """ "dupont" -> "Dupont", "jean-pierre" -> "Jean-Pierre"; a word typed with
    capitals inside ("McAllister", "DUPONT") is kept as typed, but for all caps."""
    if word.isupper() and len(word) > 1:
        word = word.lower()
    elif any(c.isupper() for c in word):
        return word
    return re.sub(r"(^|[-'’ ])(\w)", lambda m: m.group(1) + m.group(2).upper(), word)


def new_client_guess(query: str, region: str) -> NewClientGuess:
    """What a search that found no one says of the person: their names (a
    word in capitals is the last name, as French forms write it; otherwise
    "first last", and a single word is the last name), a date of birth, an
    email, a phone. Only what can be read; staff check the form anyway."""
    names: list[str] = []
    dob = None
    email = phone = ""
    phone_tokens: list[str] = []
    for token in (query or "").split():
        if when := _date(token):
            dob = when
        elif _EMAIL.match(token):
            email = token
        elif _PHONE_PART.match(token):
            phone_tokens.append(token)
        elif re.search(r"[^\W\d_]", token):
            names.append(token)
    if phone_tokens:
        try:
            phone = phone_to_e164(" ".join(phone_tokens), region)
        except InvalidPhone:
            phone = ""
    capitals = [n for n in names if n.isupper() and len(n) > 1]
    if capitals and len(capitals) < len(names):
        last = " ".join(capitals)
        first = " ".join(n for n in names if n not in capitals)
    elif len(names) == 1:
        first, last = "", names[0]
    else:
        first, last = (names[0], " ".join(names[1:])) if names else ("", "")
    return NewClientGuess(
        first_name=_name_case(first),
        last_name=_name_case(last),
        date_of_birth=dob,
        email=email,
        phone=phone,
    )
