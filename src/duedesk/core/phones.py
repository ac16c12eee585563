"""Phone numbers in E.164 and a contact's time zone (address first, then phone).

The zone decides when a contact may be texted or called, so a guess we are unsure
of returns None and the caller falls back to the next source.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

_UNKNOWN_ZONE = "Etc/Unknown"

EASTERN = "America/New_York"
CENTRAL = "America/Chicago"
MOUNTAIN = "America/Denver"
ARIZONA = "America/Phoenix"
PACIFIC = "America/Los_Angeles"

# US ZIP prefix ranges (first three digits, inclusive) -> zone. Prefixes that
# straddle a zone line (parts of FL, TN, KY, IN, MI, ND, SD, NE, TX, ID, OR) are
# split where the 3-digit area allows; genuinely mixed ones are left out (None).
# Military (090-099, 340, 962-966) and Pacific territories (969) are left out.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, EASTERN),
    (6, 7, "America/Puerto_Rico"),
    (8, 8, "America/St_Thomas"),
    (9, 9, "America/Puerto_Rico"),
    (10, 89, EASTERN),
    (100, 323, EASTERN),
    (324, 325, CENTRAL),  # Florida panhandle: Panama City, Pensacola
    (326, 339, EASTERN),
    (341, 349, EASTERN),
    (350, 369, CENTRAL),  # Alabama
    (370, 372, CENTRAL),  # Nashville
    (373, 374, EASTERN),  # Chattanooga
    (375, 375, CENTRAL),
    (376, 379, EASTERN),  # Knoxville, Johnson City
    (380, 397, CENTRAL),  # Memphis, Mississippi
    (398, 399, EASTERN),  # Georgia
    (400, 418, EASTERN),  # Kentucky: Louisville, Lexington, east
    (420, 424, CENTRAL),  # Kentucky: Paducah, Bowling Green, Owensboro
    (425, 427, EASTERN),
    (430, 462, EASTERN),  # Ohio, Indiana
    (463, 464, CENTRAL),  # Gary, Indiana
    (465, 475, EASTERN),
    (476, 477, CENTRAL),  # Evansville
    (478, 497, EASTERN),  # Indiana, Michigan
    (500, 528, CENTRAL),  # Iowa
    (530, 567, CENTRAL),  # Wisconsin, Minnesota
    (570, 576, CENTRAL),  # South Dakota east
    (577, 577, MOUNTAIN),  # Rapid City
    (580, 585, CENTRAL),  # North Dakota
    (586, 586, MOUNTAIN),  # Dickinson
    (587, 588, CENTRAL),
    (590, 599, MOUNTAIN),  # Montana
    (600, 692, CENTRAL),  # Illinois, Missouri, Kansas, Nebraska
    (693, 693, MOUNTAIN),  # Nebraska panhandle
    (700, 797, CENTRAL),  # Louisiana, Arkansas, Oklahoma, Texas
    (798, 799, MOUNTAIN),  # El Paso
    (800, 834, MOUNTAIN),  # Colorado, Wyoming, southern Idaho
    (835, 835, PACIFIC),  # Lewiston
    (836, 837, MOUNTAIN),  # Boise
    (838, 838, PACIFIC),  # northern Idaho
    (840, 847, MOUNTAIN),  # Utah
    (850, 864, ARIZONA),  # Arizona keeps standard time
    (870, 884, MOUNTAIN),  # New Mexico
    (889, 961, PACIFIC),  # Nevada, California
    (967, 968, "Pacific/Honolulu"),
    (970, 978, PACIFIC),  # Oregon
    (979, 979, MOUNTAIN),  # Ontario, Oregon
    (980, 994, PACIFIC),  # Washington
    (995, 999, "America/Anchorage"),
)


@lru_cache(maxsize=4096)  # a contact's zone is found from its number on every text and call turn
def normalize_phone(raw: str, default_region: str = "US") -> str:
    """E.164 form ("+12125550123"); ValueError("not a valid phone number") otherwise."""
    try:
        parsed = phonenumbers.parse(str(raw or ""), default_region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a valid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_for_phone(e164: str, default: str = "US") -> str:
    """The number's country ("US", "PR", "MX"), or ``default`` when it cannot be told."""
    return _region_for_phone(e164) or default


# A US or Canadian number's exchange: +1, the area code and the next three digits. Everything libphonenumber
# tells of such a number (its country, whether it is valid, its type, its zone and place) is decided by these
# eight characters: its prefix tables for +1 go no further than NPA-NXX, and so do the US and Canadian
# patterns. (Some Caribbean ones look at the line number: Jamaica's 876-606-0xxx; those numbers are cached
# whole.) Parsing is what costs, about 1 ms a number; a batch of thousands of patients has few exchanges.
_NANP = re.compile(r"\+1\d{10}")
EXCHANGES = 1 << 16  # answers kept per function, a few MB at most


@lru_cache(maxsize=1)
def _other_nanp_countries() -> re.Pattern:
    """The area codes of the other countries sharing +1 (each names its own in libphonenumber's metadata)."""
    found = []
    for region in phonenumbers.region_codes_for_country_code(1):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.leading_digits:
            found.append(metadata.leading_digits)
    return re.compile("(?:" + "|".join(found) + ")")


def by_exchange(answer):
    """Cache `answer(e164)` by the number's exchange for US and Canadian numbers, by the whole number for
    others. `answer` must read nothing of a number but what libphonenumber reads."""
    exchange = lru_cache(maxsize=EXCHANGES)(lambda prefix: answer(prefix + "0000"))
    number = lru_cache(maxsize=4096)(answer)

    def cached(e164):
        text = str(e164 or "")
        if _NANP.fullmatch(text) and not _other_nanp_countries().match(text, 2):
            return exchange(text[:8])
        return number(text)

    cached.__doc__, cached.__name__, cached.__wrapped__ = answer.__doc__, answer.__name__, answer
    return cached


@by_exchange
def _region_for_phone(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(str(e164 or ""), None))
    except phonenumbers.NumberParseException:
        return None


@by_exchange
def timezone_for_phone(e164: str) -> str | None:
    """The number's zone when its area code maps to exactly one zone, else None."""
    try:
        parsed = phonenumbers.parse(str(e164 or ""), None)
    except phonenumbers.NumberParseException:
        return None
    zones = phone_timezone.time_zones_for_number(parsed)
    if len(zones) == 1 and zones[0] != _UNKNOWN_ZONE:
        return zones[0]
    return None


def zip_prefix_lookup(zip_code: str | None, ranges: tuple[tuple[int, int, str], ...]) -> str | None:
    """What a table of ZIP prefix ranges (first three digits, inclusive) says of a US ZIP (or ZIP+4)."""
    m = re.fullmatch(r"\s*(\d{5})(?:-?\d{4})?\s*", str(zip_code or ""))
    if not m:
        return None
    prefix = int(m.group(1)[:3])
    for lo, hi, value in ranges:
        if lo <= prefix <= hi:
            return value
    return None


def timezone_for_zip(zip_code: str) -> str | None:
    """Zone for a US ZIP (or ZIP+4) by its first three digits; None when unknown."""
    return zip_prefix_lookup(zip_code, _ZIP3_RANGES)


def contact_timezone(*, zip_code: str | None, phone: str | None, fallback: str) -> str:
    """The contact's zone: from the address, else the phone's area code, else fallback."""
    if zip_code:
        zone = timezone_for_zip(zip_code)
        if zone:
            return zone
    if phone:
        try:
            zone = timezone_for_phone(normalize_phone(phone))
        except ValueError:
            zone = None
        if zone:
            return zone
    return fallback
