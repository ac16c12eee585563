"""US state rules on when and how often a patient may be texted or called, as data.

The gate (core/compliance.py) applies the rules of every state the contact may be in: the state of
their address (ZIP code) and the state of their phone's area code (Florida, Oklahoma and Maryland
presume a call to one of their area codes reaches a resident). Where a state's law was written for
telephone solicitation rather than for reminders about a bill, duedesk applies it all the same: a
reminder that keeps to the stricter rule is never unlawful. Sources are in docs/compliance.md.

A rule's id names it on the timeline: `state_hours_FL` (outside Florida's hours), `state_calls_FL`
(Florida's calls-per-debt limit reached).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

import phonenumbers

from duedesk.core.phones import by_exchange, zip_prefix_lookup


@dataclass(frozen=True)
class StateRule:
    state: str  # USPS code
    name: str
    hours: tuple[time, time] | None = None  # texts and calls, local time at the patient
    call_hours: tuple[time, time] | None = None  # calls only, where stricter than `hours`
    call_limit: tuple[int, timedelta] | None = None  # at most n calls about one debt in each rolling period
    source: str = ""

    @property
    def hours_rule(self) -> str:
        return f"state_hours_{self.state}"

    @property
    def calls_rule(self) -> str:
        return f"state_calls_{self.state}"

    def hours_for(self, channel: str) -> tuple[time, time] | None:
        return self.call_hours if channel == "call" and self.call_hours else self.hours


DAY = timedelta(days=1)

RULES: dict[str, StateRule] = {rule.state: rule for rule in (
    StateRule("FL", "Florida", hours=(time(8), time(21)), call_limit=(3, DAY),
              source="Fla. Stat. 559.72(17) (no communication 9 p.m.-8 a.m. in the debtor's zone); "
                     "Fla. Stat. 501.616(6) as amended in 2021 (SB 1120) (3 calls per 24 hours on the same "
                     "matter; written for solicitation, applied to each debt)"),
    StateRule("OK", "Oklahoma", hours=(time(8), time(20)), call_hours=(time(9), time(20)), call_limit=(3, DAY),
              source="Telephone Solicitation Act of 2022, 15 O.S. 775C.1 et seq. (HB 3168: 8 a.m.-8 p.m., "
                     "3 calls per 24 hours on the same matter); 15 O.S. 755.1(C)(2) (automatic dialing "
                     "devices: not before 9 a.m. or after 9 p.m.)"),
    StateRule("MD", "Maryland", hours=(time(8), time(20)), call_limit=(3, DAY),
              source="Stop the Spam Calls Act of 2023, Md. Code, Com. Law 14-4501 et seq. (8 a.m.-8 p.m., "
                     "3 calls per 24 hours on the same subject)"),
    StateRule("MA", "Massachusetts", call_limit=(2, timedelta(days=7)),
              source="940 CMR 7.04(1)(f) (a creditor initiates at most 2 telephone communications per debtor "
                     "in each 7-day period)"),
)}


# ----------------------------------------------------------------------------- where the patient is

# US ZIP prefixes (first three digits, inclusive) -> state. Military (090-099, 340, 962-966) and the
# Pacific territories (969) are left out.
_ZIP3_STATES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"),
    (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"),
    (320, 339, "FL"), (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"),
    (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"),
    (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"),
    (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 731, "OK"),
    (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"),
    (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"),
    (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)

_STATE_NAMES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC", "Washington D.C.": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN",
    "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO",
    "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH",
    "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR",
}
_CODES = frozenset(_STATE_NAMES.values())
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")


def state_for_zip(zip_code: str | None) -> str | None:
    """The state of a US ZIP (or ZIP+4) by its first three digits; None when unknown."""
    return zip_prefix_lookup(zip_code, _ZIP3_STATES)


@by_exchange
def state_for_phone(e164: str | None) -> str | None:
    """The state of a US number's area code ("San Francisco, CA" or "Florida" in libphonenumber's
    geocoding), None when it names none."""
    from phonenumbers import geocoder

    try:
        parsed = phonenumbers.parse(str(e164 or ""), None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(parsed) != "US":
        return None
    where = geocoder.description_for_number(parsed, "en")
    if where in _STATE_NAMES:
        return _STATE_NAMES[where]
    m = _CITY_STATE.search(where)
    return m.group(1) if m and m.group(1) in _CODES else None


def states_for(zip_code: str | None, phone: str | None) -> frozenset[str]:
    """Every state the contact may be in: the address's and the area code's."""
    return frozenset(s for s in (state_for_zip(zip_code), state_for_phone(phone)) if s)
