"""Demo data: a realistic provider directory plus sign-in-able demo accounts."""

import asyncio
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from faker import Faker
from pypika_tortoise.queries import Table
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    AvailabilityWindow,
    FirstAppointment,
    InsurancePlan,
    Office,
    Provider,
    ProviderTag,
    Role,
    TagKind,
    User,
)

DEMO_PASSWORD = "rapport-demo"  # shared by the demo accounts
DEMO_CLIENT_EMAIL = "client@demo.rapport.dev"
DEMO_PROVIDER_EMAIL = "provider@demo.rapport.dev"
DEMO_STAFF_EMAIL = "staff@demo.rapport.dev"

PROVIDER_EMAIL_DOMAIN = "providers.rapport.dev"

# (payer, plan name, states where it is sold or None for nationwide).
INSURANCE_PLANS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("Aetna", "Aetna Choice POS II", None),
    ("Aetna", "Aetna Open Access", None),
    ("Aetna", "Aetna HMO", None),
    ("Blue Cross Blue Shield", "BCBS PPO", None),
    ("Blue Cross Blue Shield", "BCBS Blue Choice", None),
    ("Empire BlueCross BlueShield", "Empire BlueCross BlueShield HMO", ("NY",)),
    ("Cigna", "Cigna Open Access Plus", None),
    ("Cigna", "Cigna LocalPlus", None),
    ("UnitedHealthcare", "UHC Choice Plus", None),
    ("UnitedHealthcare", "UHC Navigate", None),
    ("UnitedHealthcare", "UHC Oxford Freedom", ("NY", "NJ", "CT")),
    ("Optum", "Optum Behavioral Health", None),
    ("Humana", "Humana ChoiceCare PPO", None),
    ("Humana", "Humana Gold Plus HMO", None),
    (
        "Kaiser Permanente",
        "Kaiser Permanente HMO",
        ("CA", "CO", "GA", "HI", "MD", "OR", "VA", "WA"),
    ),
    ("Oscar Health", "Oscar EPO", None),
    ("Medicare", "Medicare Part B", None),
    ("Medicaid", "NY Medicaid", ("NY",)),
    ("Medicaid", "CA Medi-Cal", ("CA",)),
    ("Medicaid", "TX Medicaid", ("TX",)),
    ("Medicaid", "FL Medicaid", ("FL",)),
    ("Medicaid", "IL Medicaid", ("IL",)),
    (
        "Anthem",
        "Anthem Blue Cross PPO",
        ("CA", "CO", "CT", "GA", "IN", "KY", "ME", "MO", "NV", "NH", "NY", "OH",
         "VA", "WI"),
    ),
    ("Anthem", "Anthem HealthKeepers", ("VA",)),
    ("Tricare", "TRICARE Select", None),
    ("Tricare", "TRICARE Prime", None),
    ("Magellan", "Magellan Behavioral Health", None),
    ("Carelon Behavioral Health", "Carelon Behavioral Health", None),
    ("Harvard Pilgrim", "Harvard Pilgrim HMO", ("MA", "CT", "NH", "ME")),
    ("Ambetter", "Ambetter Essential Care", None),
)

# Big employer plans show up on most real panels; weight them up.
_PLAN_WEIGHTS: dict[str, int] = {
    "Aetna Choice POS II": 6,
    "BCBS PPO": 6,
    "Cigna Open Access Plus": 5,
    "UHC Choice Plus": 5,
    "Aetna Open Access": 3,
    "Optum Behavioral Health": 3,
    "Medicare Part B": 3,
    "Empire BlueCross BlueShield HMO": 3,
    "Kaiser Permanente HMO": 3,
}


@dataclass(frozen=True)
class _State:
    """A state the directory spans: its zone, share of providers and cities."""

    code: str
    timezone: str
    weight: int
    cities: tuple[str, ...]
    neighbors: tuple[str, ...]


def _state(code: str, tz: str, weight: int, cities: str, neighbors: str) -> _State:
    """A _State from compact strings: 'A|B' cities, space-separated neighbors."""
    return _State(code, tz, weight, tuple(cities.split("|")), tuple(neighbors.split()))


# Weights roughly follow population, so big states get more providers.
STATES: tuple[_State, ...] = (
    _state("NY", "America/New_York", 10, "New York|Brooklyn|Buffalo|Rochester",
           "NJ CT PA MA VT"),
    _state("CA", "America/Los_Angeles", 12,
           "Los Angeles|San Francisco|San Diego|Oakland|Sacramento", "OR NV AZ"),
    _state("TX", "America/Chicago", 8, "Austin|Houston|Dallas|San Antonio",
           "NM LA"),
    _state("FL", "America/New_York", 7, "Miami|Orlando|Tampa|Jacksonville", "GA"),
    _state("IL", "America/Chicago", 5, "Chicago|Evanston|Naperville",
           "WI IN MO KY"),
    _state("WA", "America/Los_Angeles", 4, "Seattle|Spokane|Tacoma", "OR ID"),
    _state("MA", "America/New_York", 4, "Boston|Cambridge|Worcester",
           "NH RI CT NY VT"),
    _state("CO", "America/Denver", 4, "Denver|Boulder|Colorado Springs",
           "UT NM"),
    _state("AZ", "America/Phoenix", 3, "Phoenix|Tucson|Scottsdale", "NM NV UT CA"),
    _state("GA", "America/New_York", 4, "Atlanta|Savannah|Decatur",
           "FL SC NC TN"),
    _state("NC", "America/New_York", 4, "Charlotte|Raleigh|Durham", "SC VA GA TN"),
    _state("PA", "America/New_York", 5, "Philadelphia|Pittsburgh|Harrisburg",
           "NJ NY OH MD"),
    _state("OR", "America/Los_Angeles", 3, "Portland|Eugene|Bend", "WA CA ID"),
    _state("MN", "America/Chicago", 3, "Minneapolis|Saint Paul|Duluth", "WI"),
    _state("NJ", "America/New_York", 4, "Newark|Jersey City|Princeton|Hoboken",
           "NY PA"),
    _state("VA", "America/New_York", 3, "Richmond|Arlington|Norfolk",
           "MD NC KY TN"),
    _state("MD", "America/New_York", 3, "Baltimore|Bethesda|Silver Spring",
           "VA PA"),
    _state("MI", "America/Detroit", 3, "Detroit|Ann Arbor|Grand Rapids",
           "OH IN WI"),
    _state("OH", "America/New_York", 3, "Columbus|Cleveland|Cincinnati",
           "PA MI IN KY"),
    _state("TN", "America/Chicago", 2, "Nashville|Memphis", "KY GA NC MO"),
    _state("UT", "America/Denver", 2, "Salt Lake City|Provo", "CO AZ NV ID"),
    _state("WI", "America/Chicago", 2, "Milwaukee|Madison", "MN IL MI"),
    _state("MO", "America/Chicago", 2, "St. Louis|Kansas City", "IL TN"),
    _state("NV", "America/Los_Angeles", 2, "Las Vegas|Reno", "CA AZ UT"),
    _state("CT", "America/New_York", 2, "Hartford|New Haven|Stamford",
           "NY MA RI"),
    _state("IN", "America/Indiana/Indianapolis", 2, "Indianapolis|Bloomington",
           "IL OH MI KY"),
    _state("LA", "America/Chicago", 1, "New Orleans|Baton Rouge", "TX"),
    _state("KY", "America/New_York", 1, "Louisville|Lexington", "OH IN TN"),
    _state("SC", "America/New_York", 1, "Charleston|Columbia|Greenville",
           "NC GA"),
    _state("NM", "America/Denver", 1, "Albuquerque|Santa Fe", "AZ CO TX"),
    _state("HI", "Pacific/Honolulu", 1, "Honolulu|Hilo", "CA"),
    _state("AK", "America/Anchorage", 1, "Anchorage|Juneau", "WA"),
    _state("ID", "America/Boise", 1, "Boise|Coeur d'Alene", "WA OR UT"),
    _state("ME", "America/New_York", 1, "Portland|Bangor", "NH MA"),
    _state("NH", "America/New_York", 1, "Manchester|Concord", "MA ME VT"),
    _state("VT", "America/New_York", 1, "Burlington|Montpelier", "NH NY MA"),
    _state("RI", "America/New_York", 1, "Providence|Newport", "MA CT"),
)
_STATE_BY_CODE: dict[str, _State] = {s.code: s for s in STATES}
_STATE_NAMES: dict[str, str] = dict(
    pair.split("=")
    for pair in (
        "NY=New York|CA=California|TX=Texas|FL=Florida|IL=Illinois|WA=Washington|"
        "MA=Massachusetts|CO=Colorado|AZ=Arizona|GA=Georgia|NC=North Carolina|"
        "PA=Pennsylvania|OR=Oregon|MN=Minnesota|NJ=New Jersey|VA=Virginia|"
        "MD=Maryland|MI=Michigan|OH=Ohio|TN=Tennessee|UT=Utah|WI=Wisconsin|"
        "MO=Missouri|NV=Nevada|CT=Connecticut|IN=Indiana|LA=Louisiana|"
        "KY=Kentucky|SC=South Carolina|NM=New Mexico|HI=Hawaii|AK=Alaska|"
        "ID=Idaho|ME=Maine|NH=New Hampshire|VT=Vermont|RI=Rhode Island"
    ).split("|")
)

CREDENTIALS = ("LCSW", "LMFT", "LPC", "PsyD", "PhD", "LMHC", "MD", "PMHNP")
_DOCTORAL = frozenset({"PsyD", "PhD", "MD"})

SPECIALTIES: dict[str, str] = {  # display value -> phrase used in bios
    "Anxiety": "anxiety",
    "Depression": "depression",
    "Trauma and PTSD": "trauma and PTSD",
    "Grief": "grief and loss",
    "Relationships": "relationship strain",
    "ADHD": "ADHD",
    "OCD": "OCD",
    "Eating Disorders": "eating disorders",
    "Substance Use": "substance use",
    "Bipolar Disorder": "bipolar disorder",
    "Life Transitions": "big life transitions",
    "Stress": "chronic stress",
    "Insomnia": "insomnia",
    "Postpartum": "postpartum mood changes",
    "LGBTQ+ Issues": "identity and LGBTQ+ concerns",
    "Chronic Illness": "life with chronic illness",
}
MODALITIES: dict[str, str] = {  # display value -> phrase used in bios
    "CBT": "CBT",
    "DBT": "DBT skills",
    "EMDR": "EMDR",
    "ACT": "ACT",
    "Psychodynamic": "psychodynamic work",
    "Mindfulness-Based": "mindfulness-based practices",
    "IFS": "Internal Family Systems (IFS)",
    "Solution-Focused": "solution-focused therapy",
    "Motivational Interviewing": "motivational interviewing",
    "Exposure Therapy": "exposure therapy",
    "Gottman Method": "the Gottman Method",
}
EXTRA_LANGUAGES = (
    "Spanish", "Mandarin", "French", "Korean", "Vietnamese", "Russian",
    "Portuguese", "Arabic", "Hindi", "ASL",
)
_LANGUAGE_WEIGHTS = (10, 3, 2, 2, 2, 2, 2, 1, 2, 1)  # Spanish is by far the most common
VIDEO_PLATFORMS = (
    "Zoom", "Doxy.me", "SimplePractice Telehealth", "Google Meet", "Microsoft Teams"
)
_VIDEO = "VIDEO"
_IN_PERSON = "IN_PERSON"
_FORMAT_CHOICES = ([_VIDEO], [_VIDEO], [_IN_PERSON], [_VIDEO, _IN_PERSON],
                   [_VIDEO, _IN_PERSON])
_HORIZONS = (60, 60, 90, 90, 120, 120, 180, 180, 270, 365)
# The next DST change can be ~240 days out, and scripts/first_booking.py needs
# someone in New York whose horizon passes it by a week, whatever the date.
_LONG_HORIZONS = (270, 365)
# How many NY providers are guaranteed to be bookable far ahead with Aetna.
_FEATURED_NY = 5

_WHO = (
    "adults", "adolescents and young adults", "couples and individuals",
    "busy professionals", "new and expecting parents", "college students",
    "adults and older adults", "LGBTQ+ adults", "first responders and veterans",
)
_OPENERS = (
    "I work with {who} who are dealing with {s1} and {s2}.",
    "My practice focuses on {who} facing {s1}, {s2} and the ways they show up "
    "in everyday life.",
    "I help {who} move through {s1} and {s2} toward a steadier, more connected "
    "life.",
    "Many of the {who} I see come in feeling stuck with {s1} or {s2}.",
)
_MIDDLES = (
    "Sessions draw on {m}, adapted to what you want to change.",
    "I use {m} and keep the work collaborative and practical.",
    "My approach blends {m} with plenty of warmth and a little humor.",
    "We'll lean on {m} to build skills you can use between sessions.",
)


@dataclass
class _Seed:
    """One account to create, with its provider profile if it has one."""

    email: str
    name: str
    role: Role
    timezone: str
    provider: dict[str, Any] | None = None
    offices: list[tuple[str, str, str]] = field(default_factory=list)
    windows: list[tuple[int, int, int, list[str] | None]] = field(
        default_factory=list
    )
    plans: list[str] = field(default_factory=list)  # plan names, unique here


def _hash_password(password: str) -> str:
    """Hash a password the way sign-in verifies it (argon2id)."""
    return PasswordHasher().hash(password)


def _join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _slug(text: str) -> str:
    """Lower-case ASCII letters only, for email local parts."""
    return re.sub(r"[^a-z]", "", text.lower())


def _weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[int], k: int
) -> list[str]:
    """k distinct items drawn with the given weights."""
    pool, pool_weights = list(items), list(weights)
    picked: list[str] = []
    while pool and len(picked) < k:
        i = rng.choices(range(len(pool)), weights=pool_weights)[0]
        picked.append(pool.pop(i))
        pool_weights.pop(i)
    return picked


def _windows(
    rng: random.Random, formats: list[str], office_hours: bool
) -> list[tuple[int, int, int, list[str] | None]]:
    """3–5 weekly windows on distinct days, local wall-clock minutes."""
    count = rng.randint(3, 5)
    if office_hours:
        # Weekdays only, daytime windows open at 09:00, one of them early in the
        # week (Mon–Wed) and one late (Thu–Fri): both sides of a DST weekend.
        anchors = [rng.choice([1, 2, 3]), rng.choice([4, 5])]
        others = [d for d in range(1, 6) if d not in anchors]
        weekdays = sorted(anchors + rng.sample(others, count - 2))
    else:
        anchors = []
        weekdays = sorted(rng.sample([1, 2, 3, 4, 5], count))
        if count >= 4 and rng.random() < 0.3:
            # Some providers trade a weekday for a Saturday or Sunday block.
            weekdays[rng.randrange(len(weekdays))] = rng.choice([6, 7])
            weekdays = sorted(set(weekdays))
    both = len(formats) == 2
    result: list[tuple[int, int, int, list[str] | None]] = []
    for day in weekdays:
        roll = rng.random()
        if day >= 6:
            start, end = 600, 840  # 10:00–14:00
        elif day in anchors or (office_hours and roll < 0.6):
            start, end = rng.choice([(540, 1020), (540, 1020), (540, 900)])
        elif roll < 0.45:
            start, end = 540, 1020  # 9:00–17:00
        elif roll < 0.6:
            start, end = 480, 840  # 8:00–14:00
        elif roll < 0.75:
            start, end = 720, 1200  # 12:00–20:00
        elif roll < 0.98:
            start, end = 1020, 1260  # 17:00–21:00
        else:
            start, end = 1200, 1440  # 20:00–24:00, late-night telehealth
        window_formats: list[str] | None = None
        if formats == [_IN_PERSON] and start >= 1200:
            start, end = 1020, 1260  # nobody keeps an office open until midnight
        if both and start >= 1020:
            window_formats = [_VIDEO]  # evenings are video-only: the office is shut
        elif both and rng.random() < 0.2:
            window_formats = [_IN_PERSON]
        result.append((day, start, end, window_formats))
    return result


def _plans_for(
    rng: random.Random, states: list[str], must: Sequence[str] = ()
) -> list[str]:
    """2–6 plan names sold in at least one of the provider's states."""
    eligible = {
        name: regions is not None
        for _payer, name, regions in INSURANCE_PLANS
        if regions is None or any(s in regions for s in states)
    }
    rest = [n for n in eligible if n not in must]
    # A local plan (state Medicaid, Empire, Oxford...) is common where it is sold.
    weights = [_PLAN_WEIGHTS.get(n, 4 if eligible[n] else 1) for n in rest]
    count = max(rng.randint(2, 6), len(must))
    return list(must) + _weighted_sample(rng, rest, weights, count - len(must))


def _bio(
    rng: random.Random,
    specialties: list[str],
    modalities: list[str],
    formats: list[str],
    states: list[str],
    city: str | None,
    first: FirstAppointment,
    intro_minutes: int,
) -> str:
    """Two or three sentences on who they help, how, and where."""
    s1, s2 = rng.sample(specialties, 2)
    sentences = [
        rng.choice(_OPENERS).format(
            who=rng.choice(_WHO), s1=SPECIALTIES[s1], s2=SPECIALTIES[s2]
        ),
        rng.choice(_MIDDLES).format(m=_join([MODALITIES[m] for m in modalities])),
    ]
    roll = rng.random()
    if roll < 0.4 and first is FirstAppointment.INTRO_CALL:
        sentences.append(
            f"I offer a free {intro_minutes}-minute intro call so you can see "
            "whether we're a good fit."
        )
    elif roll < 0.8:
        where = []
        if _IN_PERSON in formats and city:
            where.append(f"in person in {city}")
        if _VIDEO in formats:
            where.append(
                f"by video across {_join([_STATE_NAMES[s] for s in states])}"
            )
        sentences.append(f"I see clients {' and '.join(where)}.")
    return " ".join(sentences)


def _office_address(fake: Faker, rng: random.Random, city: str, state: str) -> str:
    """A street address with a suite, in the given city and state."""
    # Faker's building numbers can start with 0 ("018"); real ones don't.
    street = f"{int(fake.building_number())} {fake.street_name()}"
    return (
        f"{street}, Suite {rng.randint(1, 9)}{rng.randint(0, 2)}"
        f"{rng.randint(1, 9)}, {city}, {state} {fake.zipcode_in_state(state)}"
    )


def _provider_seeds(count: int, seed: int) -> list[_Seed]:
    """The generated directory: `count` providers, same output for the same seed."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    # Every state gets one provider before weights take over, so even small
    # directories span many states.
    homes = [s.code for s in STATES]
    rng.shuffle(homes)
    weights = [s.weight for s in STATES]
    codes = [s.code for s in STATES]
    while len(homes) < count:
        homes.append(rng.choices(codes, weights=weights)[0])
    homes = homes[:count]

    seeds: list[_Seed] = []
    featured_ny = 0
    for n, home in enumerate(homes, start=1):
        state = _STATE_BY_CODE[home]
        first_name, last_name = fake.first_name(), fake.last_name()
        credentials = rng.choice(CREDENTIALS)
        name = f"{first_name} {last_name}"
        if credentials in _DOCTORAL:
            name = f"Dr. {name}"
        featured = home == "NY" and featured_ny < _FEATURED_NY
        featured_ny += featured

        extra = rng.choice([0, 0, 0, 1, 1, 2])
        others = [s for s in state.neighbors if s in _STATE_BY_CODE]
        licensed = [home]
        for _ in range(extra):
            pool = [s for s in others if s not in licensed] or [
                c for c in codes if c not in licensed
            ]
            licensed.append(rng.choice(pool))

        specialties = rng.sample(list(SPECIALTIES), rng.randint(2, 5))
        # Gottman is a couples method: only relationship specialists list it.
        modality_pool = [
            m for m in MODALITIES
            if m != "Gottman Method" or "Relationships" in specialties
        ]
        modalities = rng.sample(modality_pool, rng.randint(1, 4))
        languages = ["English"]
        if rng.random() < 0.35:
            languages += _weighted_sample(
                rng, EXTRA_LANGUAGES, _LANGUAGE_WEIGHTS, rng.choice([1, 1, 1, 2])
            )
        formats = list(rng.choice(_FORMAT_CHOICES))
        if featured and _VIDEO not in formats:
            formats = [_VIDEO, _IN_PERSON]
        first = rng.choice([FirstAppointment.INTRO_CALL, FirstAppointment.SESSION])
        intro_minutes = 20 if rng.random() < 0.15 else 15
        city = rng.choice(state.cities)

        offices = []
        if _IN_PERSON in formats:
            offices.append(("Main office", _office_address(fake, rng, city, home)))
            if rng.random() < 0.3:
                downtown = state.cities[0]
                offices.append(("Downtown", _office_address(fake, rng, downtown, home)))

        horizon = rng.choice(_LONG_HORIZONS if featured else _HORIZONS)
        accepting = featured or rng.random() < 0.85
        plans = _plans_for(
            rng, licensed, ("Aetna Choice POS II",) if featured else ()
        )
        # scripts/first_booking.py books the first (by name) New York provider
        # who accepts Aetna Choice POS II and prints the earliest wall-clock
        # time open on both sides of a DST change; give that whole group
        # ordinary 09:00 office hours so the answer is always 09:00.
        office_hours = (
            state.timezone == "America/New_York"
            and "NY" in licensed
            and accepting
            and "Aetna Choice POS II" in plans
        )
        profile: dict[str, Any] = {
            "name": name,
            "credentials": credentials,
            "bio": _bio(
                rng, specialties, modalities, formats, licensed,
                city if offices else None, first, intro_minutes,
            ),
            "specialties": specialties,
            "modalities": modalities,
            "languages": languages,
            "licensed_states": licensed,
            "formats": formats,
            "accepting_new_clients": accepting,
            "first_appointment": first,
            "intro_call_minutes": intro_minutes,
            "session_minutes": rng.choice([45, 50, 53, 60]),
            "timezone": state.timezone,
            "video_platform": (
                rng.choice(VIDEO_PLATFORMS) if _VIDEO in formats else None
            ),
            "buffer_minutes": rng.choice([0, 0, 10, 15]),
            "minimum_notice_hours": rng.choice([12, 24, 24, 48]),
            "booking_horizon_days": horizon,
            "slot_step_minutes": rng.choice([15, 30, 30, 60]),
        }
        seeds.append(
            _Seed(
                email=(
                    f"{_slug(first_name)}.{_slug(last_name)}.{n}"
                    f"@{PROVIDER_EMAIL_DOMAIN}"
                ),
                name=name,
                role=Role.PROVIDER,
                timezone=state.timezone,
                provider=profile,
                offices=[(label, addr, home) for label, addr in offices],
                windows=_windows(rng, formats, office_hours),
                plans=plans,
            )
        )
    return seeds


def _demo_seeds() -> list[_Seed]:
    """The three fixed accounts people sign in with."""
    ny = "America/New_York"
    okafor: dict[str, Any] = {
        "name": "Dr. Sam Okafor",
        "credentials": "PsyD",
        "bio": (
            "I help adults untangle anxiety, depression and the aftermath of "
            "trauma so they can get back to the lives they want. My work draws "
            "on CBT, EMDR and ACT, and I keep sessions warm, direct and "
            "practical. I see clients in Midtown Manhattan and by video across "
            "New York and New Jersey."
        ),
        "specialties": ["Anxiety", "Depression", "Trauma and PTSD", "Life Transitions"],
        "modalities": ["CBT", "EMDR", "ACT"],
        "languages": ["English"],
        "licensed_states": ["NY", "NJ"],
        "formats": [_VIDEO, _IN_PERSON],
        "accepting_new_clients": True,
        "first_appointment": FirstAppointment.INTRO_CALL,
        "intro_call_minutes": 15,
        "session_minutes": 50,
        "timezone": ny,
        "video_platform": "Zoom",
        "buffer_minutes": 10,
        "minimum_notice_hours": 24,
        "booking_horizon_days": 180,
        "slot_step_minutes": 30,
    }
    return [
        _Seed(DEMO_CLIENT_EMAIL, "Jordan Rivera", Role.CLIENT, ny),
        _Seed(
            DEMO_PROVIDER_EMAIL,
            "Dr. Sam Okafor",
            Role.PROVIDER,
            ny,
            provider=okafor,
            offices=[
                (
                    "Main office",
                    "250 W 57th St, Suite 1210, New York, NY 10107",
                    "NY",
                )
            ],
            windows=[(day, 540, 1020, None) for day in range(1, 6)],
            plans=["Aetna Choice POS II", "Cigna Open Access Plus"],
        ),
        _Seed(DEMO_STAFF_EMAIL, "Riley Chen", Role.STAFF, ny),
    ]


def _tags(profile: dict[str, Any]) -> list[tuple[TagKind, str]]:
    """The searchable (kind, value) pairs that mirror a profile's lists."""
    lists = (
        (TagKind.STATE, "licensed_states"),
        (TagKind.SPECIALTY, "specialties"),
        (TagKind.MODALITY, "modalities"),
        (TagKind.LANGUAGE, "languages"),
        (TagKind.FORMAT, "formats"),
    )
    return [(kind, value) for kind, key in lists for value in profile[key]]


async def _insert_provider_plans(
    conn: BaseDBAsyncClient, rows: list[tuple[int, int]]
) -> None:
    """Bulk-insert (provider id, plan id) pairs into the M2M through table."""
    m2m = Provider._meta.fields_map["plans"]
    table = Table(m2m.through)  # type: ignore[attr-defined]
    backward = table[m2m.backward_key]  # type: ignore[attr-defined]
    forward = table[m2m.forward_key]  # type: ignore[attr-defined]
    # 400 rows = 800 parameters: under SQLite's and asyncpg's per-query limits.
    for i in range(0, len(rows), 400):
        query = conn.query_class.into(table).columns(backward, forward)
        for provider_id, plan_id in rows[i : i + 400]:
            query = query.insert(provider_id, plan_id)
        await conn.execute_query(*query.get_parameterized_sql())


async def _write(
    conn: BaseDBAsyncClient, seeds: list[_Seed], password_hash: str
) -> None:
    """Insert everything with a handful of bulk statements."""
    # ignore_conflicts: plans may predate the first user (added by staff tools).
    await InsurancePlan.bulk_create(
        [InsurancePlan(payer=p, name=n) for p, n, _ in INSURANCE_PLANS],
        ignore_conflicts=True,
        using_db=conn,
    )
    ours = {(payer, name) for payer, name, _ in INSURANCE_PLANS}
    rows = await InsurancePlan.all().using_db(conn).values_list("payer", "name", "id")
    plan_ids = {name: pk for payer, name, pk in rows if (payer, name) in ours}

    await User.bulk_create(
        [
            User(
                email=s.email.lower(),
                password_hash=password_hash,
                name=s.name,
                role=s.role,
                timezone=s.timezone,
            )
            for s in seeds
        ],
        using_db=conn,
    )
    # bulk_create leaves integer keys unset; the table was empty, so read them back.
    user_ids = dict(await User.all().using_db(conn).values_list("email", "id"))

    with_profiles = [s for s in seeds if s.provider is not None]
    await Provider.bulk_create(
        [
            Provider(user_id=user_ids[s.email.lower()], **(s.provider or {}))
            for s in with_profiles
        ],
        using_db=conn,
    )
    provider_ids = dict(
        await Provider.all().using_db(conn).values_list("user_id", "id")
    )

    tags: list[ProviderTag] = []
    offices: list[Office] = []
    windows: list[AvailabilityWindow] = []
    plan_rows: list[tuple[int, int]] = []
    for s in with_profiles:
        pid = provider_ids[user_ids[s.email.lower()]]
        assert s.provider is not None
        tags += [
            ProviderTag(
                provider_id=pid, kind=kind, value=value, folded=value.casefold()
            )
            for kind, value in _tags(s.provider)
        ]
        offices += [
            Office(provider_id=pid, position=i, label=label, address=addr, state=st)
            for i, (label, addr, st) in enumerate(s.offices)
        ]
        windows += [
            AvailabilityWindow(
                provider_id=pid, weekday=d, start_minute=a, end_minute=b, formats=f
            )
            for d, a, b, f in s.windows
        ]
        plan_rows += [(pid, plan_ids[name]) for name in s.plans]
    await ProviderTag.bulk_create(tags, using_db=conn)
    await Office.bulk_create(offices, using_db=conn)
    await AvailabilityWindow.bulk_create(windows, using_db=conn)
    await _insert_provider_plans(conn, plan_rows)


async def seed_demo_data(*, providers: int = 240, seed: int = 7) -> bool:
    """Fill an empty database (no users); if any user exists, do nothing: False."""
    if await User.exists():
        return False  # cheap early exit before hashing and generating
    password_hash = await asyncio.to_thread(_hash_password, DEMO_PASSWORD)
    seeds = _demo_seeds() + _provider_seeds(providers, seed)
    try:
        async with in_transaction() as conn:
            # Checked again inside the transaction: another process may have won.
            if await User.exists(using_db=conn):
                return False
            await _write(conn, seeds, password_hash)
    except IntegrityError:
        # A concurrent seeder committed the same demo emails first: ours rolled
        # back and theirs stands, so the database is seeded all the same.
        if await User.filter(email=DEMO_CLIENT_EMAIL).exists():
            return False
        raise
    return True


async def create_staff(
    email: str, name: str, password: str, timezone: str = "America/New_York"
) -> int:
    """Create a STAFF user with an argon2 password hash and return its id."""
    from resolvers.auth import check_new_account
    from schema.errors import BadUserInput

    try:
        # Staff read every account: no weaker rules than a client's sign-up.
        email, name = check_new_account(email, password, name, timezone)
    except BadUserInput as error:
        raise ValueError(error.message) from None
    if await User.filter(email=email).exists():
        raise ValueError(f"a user with email {email} already exists")
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    password_hash = await asyncio.to_thread(_hash_password, password)
    try:
        user = await User.create(
            email=email,
            password_hash=password_hash,
            name=name,
            role=Role.STAFF,
            timezone=timezone,
        )
    except IntegrityError as error:  # lost a race with another insert
        raise ValueError(f"a user with email {email} already exists") from error
    return user.id
