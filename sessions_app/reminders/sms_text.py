"""What an SMS costs: its length in the units the phone network counts, and how
many parts it is sent in. Pure: no database.

A text in the GSM 03.38 alphabet (GSM-7) fits 160 characters in one part, 153
a part once split; `^{}\\[~]|€` are in its extension table and count double. One
character outside it (an emoji, a curly quote, most accents beyond French and
German) sends the whole text as UCS-2: 70 in one part, 67 a part once split,
and a character outside the Basic Multilingual Plane (an emoji) counts double.
A character counted double is never cut between two parts.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38, the default alphabet (the escape to the extension table left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: an escape and the character, two septets each.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7, UCS2 = "GSM-7", "UCS-2"
# (one part, each part of a longer text), in the encoding's units.
PART_SIZES = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int

    def __str__(self) -> str:
        single, each = PART_SIZES[self.encoding]
        if self.parts <= 1:
            return f"{self.units} of {single} characters: 1 part ({self.encoding})"
        return f"{self.units} characters: {self.parts} parts ({self.encoding}, {each} characters a part)"


def _sizes(text: str) -> tuple[str, list[int]]:
    """The encoding, and what each character counts in it."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        return GSM7, [2 if c in GSM7_EXTENDED else 1 for c in text]
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_length(text: str) -> SmsLength:
    """The one count of an SMS's length and parts: the rule editor shows it, the tests hold the defaults to it."""
    encoding, sizes = _sizes(text)
    units = sum(sizes)
    single, each = PART_SIZES[encoding]
    if units <= single:
        return SmsLength(encoding, units, 1 if units else 0)
    parts, room = 1, each
    for size in sizes:
        if size > room:  # a double character goes whole into the next part
            parts, room = parts + 1, each
        room -= size
    return SmsLength(encoding, units, parts)


def with_stop_link(body: str, link: str) -> str:
    """The SMS as sent: the message, then its one-click stop link."""
    return f"{body}\nStop SMS: {link}"
