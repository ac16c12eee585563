import pytest

from duedesk.core.phones import (
    contact_timezone,
    normalize_phone,
    timezone_for_phone,
    timezone_for_zip,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(212) 555-2368", "+12125552368"),
        ("212.555.2368", "+12125552368"),
        ("+1 415 555 2671", "+14155552671"),
        ("1-415-555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def test_normalize_phone_default_region():
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "hello", "555-1234", "+1 123 456 7890", "12"])
def test_normalize_phone_rejects(raw):
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "e164, zone",
    [
        ("+12125552368", "America/New_York"),
        ("+14155552671", "America/Los_Angeles"),
        ("+13125552368", "America/Chicago"),
        ("+16025552368", "America/Phoenix"),
        ("+18085552368", "Pacific/Honolulu"),
        ("+442079460958", "Europe/London"),
    ],
)
def test_timezone_for_phone(e164, zone):
    assert timezone_for_phone(e164) == zone


def test_timezone_for_phone_ambiguous_or_bad_is_none():
    assert timezone_for_phone("+18005552368") is None  # toll-free: every US zone
    assert timezone_for_phone("not a number") is None
    assert timezone_for_phone("") is None


@pytest.mark.parametrize("e164", [
    "+12125552368", "+12125559999", "+12120001234",  # New York; an exchange that cannot exist (000)
    "+14165550123", "+19832001234", "+15056441234", "+15056451234",  # Toronto; exchange-level US patterns
    "+18766060123", "+18766065424", "+12465210123", "+12465211123",  # Jamaica, Barbados: line-level patterns
    "+18095550123", "+442079460958", "+1212555", "",
])
def test_a_number_is_answered_as_libphonenumber_answers_it_whole(e164):
    """Answers are kept by exchange (+1 NPA-NXX) for US and Canadian numbers: the same as parsing the whole."""
    from duedesk.core.phones import _region_for_phone, normalize_phone
    from duedesk.core.states import state_for_phone

    for answer in (timezone_for_phone, state_for_phone, _region_for_phone):
        assert answer(e164) == answer.__wrapped__(e164)
    try:
        assert normalize_phone(e164) == normalize_phone.__wrapped__(e164)  # kept per number
    except ValueError:
        with pytest.raises(ValueError):
            normalize_phone.__wrapped__(e164)
    assert state_for_phone("+12125552368") == "NY" and timezone_for_phone("+18766060123") == "America/Jamaica"
    assert timezone_for_phone("+18766065424") is None  # not a Jamaican number, though 876-606 is


@pytest.mark.parametrize(
    "zip_code, zone",
    [
        ("10001", "America/New_York"),
        ("02139", "America/New_York"),
        ("60601-1234", "America/Chicago"),
        ("32501", "America/Chicago"),  # Pensacola
        ("33101", "America/New_York"),  # Miami
        ("80202", "America/Denver"),
        ("85004", "America/Phoenix"),
        ("94103", "America/Los_Angeles"),
        ("98101", "America/Los_Angeles"),
        ("96813", "Pacific/Honolulu"),
        ("99501", "America/Anchorage"),
        ("00901", "America/Puerto_Rico"),
        ("79901", "America/Denver"),  # El Paso
        ("75201", "America/Chicago"),  # Dallas
    ],
)
def test_timezone_for_zip(zip_code, zone):
    assert timezone_for_zip(zip_code) == zone


@pytest.mark.parametrize("zip_code", ["", "1234", "ABCDE", "09001", "96201", "49801"])
def test_timezone_for_zip_unknown_is_none(zip_code):
    assert timezone_for_zip(zip_code) is None


def test_zip_table_zones_exist():
    from zoneinfo import ZoneInfo

    from duedesk.core.phones import _ZIP3_RANGES

    previous_hi = -1
    for lo, hi, zone in _ZIP3_RANGES:
        assert previous_hi < lo <= hi  # sorted, no overlap
        previous_hi = hi
        ZoneInfo(zone)


def test_contact_timezone_prefers_address_then_phone_then_fallback():
    assert contact_timezone(zip_code="94103", phone="+12125552368", fallback="America/Chicago") == (
        "America/Los_Angeles"
    )
    assert contact_timezone(zip_code=None, phone="(212) 555-2368", fallback="America/Chicago") == (
        "America/New_York"
    )
    assert contact_timezone(zip_code="ABCDE", phone="+18005552368", fallback="America/Chicago") == (
        "America/Chicago"
    )
    assert contact_timezone(zip_code="", phone="garbage", fallback="America/Denver") == "America/Denver"
    assert contact_timezone(zip_code=None, phone=None, fallback="America/Denver") == "America/Denver"
