"""Bulk data for the benchmark, written with COPY: providers, plans, appointments.

Everything is generated from one seeded random source relative to "now", so two
runs see the same shape of directory. The World returned describes what the
scenarios need: filters that fill a page, tokens, threads, bookable providers.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson

# The bench signs its own tokens with the secret its servers are given; the
# claims mirror resolvers.auth.issue_token (checked against a live server).
TOKEN_ALGORITHM = "HS256"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$not-a-real-hash"

STATES = (  # code, time zone, weight
    ("NY", "America/New_York", 10),
    ("CA", "America/Los_Angeles", 12),
    ("TX", "America/Chicago", 8),
    ("FL", "America/New_York", 7),
    ("IL", "America/Chicago", 5),
    ("WA", "America/Los_Angeles", 4),
    ("MA", "America/New_York", 4),
    ("CO", "America/Denver", 4),
    ("AZ", "America/Phoenix", 3),
    ("GA", "America/New_York", 4),
    ("NC", "America/New_York", 4),
    ("PA", "America/New_York", 5),
    ("OR", "America/Los_Angeles", 3),
    ("MN", "America/Chicago", 3),
    ("NJ", "America/New_York", 4),
    ("VA", "America/New_York", 3),
    ("MD", "America/New_York", 3),
    ("MI", "America/Detroit", 3),
    ("OH", "America/New_York", 3),
    ("TN", "America/Chicago", 2),
    ("UT", "America/Denver", 2),
    ("WI", "America/Chicago", 2),
    ("MO", "America/Chicago", 2),
    ("NV", "America/Los_Angeles", 2),
    ("CT", "America/New_York", 2),
    ("HI", "Pacific/Honolulu", 1),
)
PLANS = (  # payer, name, weight
    ("Aetna", "Aetna Choice POS II", 6),
    ("Aetna", "Aetna Open Access", 3),
    ("Aetna", "Aetna HMO", 1),
    ("Blue Cross Blue Shield", "BCBS PPO", 6),
    ("Blue Cross Blue Shield", "BCBS Blue Choice", 2),
    ("Cigna", "Cigna Open Access Plus", 5),
    ("Cigna", "Cigna LocalPlus", 1),
    ("UnitedHealthcare", "UHC Choice Plus", 5),
    ("UnitedHealthcare", "UHC Navigate", 1),
    ("UnitedHealthcare", "UHC Oxford Freedom", 1),
    ("Optum", "Optum Behavioral Health", 3),
    ("Humana", "Humana ChoiceCare PPO", 1),
    ("Humana", "Humana Gold Plus HMO", 1),
    ("Kaiser Permanente", "Kaiser HMO", 2),
    ("Oscar Health", "Oscar EPO", 1),
    ("Medicare", "Medicare Part B", 3),
    ("Medicaid", "NY Medicaid", 1),
    ("Medicaid", "CA Medi-Cal", 1),
    ("Anthem", "Anthem Blue Cross PPO", 2),
    ("Tricare", "TRICARE Select", 1),
    ("Magellan", "Magellan Behavioral Health", 1),
    ("Carelon Behavioral Health", "Carelon Behavioral Health", 1),
    ("Harvard Pilgrim", "Harvard Pilgrim HMO", 1),
    ("Ambetter", "Ambetter Essential", 1),
)
FIRST_NAMES = (
    "Avery Blake Casey Dana Eli Frances Gray Harper Iris Jordan Kai Logan Morgan "
    "Noel Oakley Parker Quinn Riley Sage Taylor Uma Val Wren Yael Zion Ada Ben "
    "Clara David Elena Felix Grace Henry Isla Jonah Kira Leo Maya Nina Omar Priya "
    "Rosa Sam Theo Vera Will Ximena Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abbott Baker Chen Diaz Ellis Fischer Garcia Hughes Ibarra Jensen Kim Lopez "
    "Moreno Nguyen Okafor Patel Quint Rossi Shah Torres Ueda Vargas Walsh Xu Young "
    "Zimmer Adler Brooks Cohen Dubois Evans Ferreira Gupta Hale Ito Jovanovic "
    "Khan Larsen Murphy Novak Olsen Perez Reyes Silva Tanaka Usman Volkov Weber "
    "Yilmaz Zhang"
).split()
CREDENTIALS = ("LCSW", "LMFT", "LPC", "PsyD", "PhD", "LMHC", "MD", "PMHNP")
SPECIALTIES = (
    "Anxiety Depression Trauma Grief Relationships ADHD OCD Stress Insomnia "
    "Postpartum Bipolar Addiction Burnout Parenting Identity"
).split()
MODALITIES = "CBT DBT EMDR ACT Psychodynamic IFS Mindfulness Gottman".split()
LANGUAGES = ("English", "Spanish", "Mandarin", "French", "Korean")
WINDOW_PATTERNS = (  # (weekdays, [(start minute, end minute)])
    ((1, 2, 3, 4, 5), [(9 * 60, 17 * 60)]),
    ((1, 2, 3, 4), [(10 * 60, 18 * 60)]),
    ((1, 3, 5), [(8 * 60, 12 * 60), (13 * 60, 17 * 60)]),
    ((2, 3, 4, 5, 6), [(12 * 60, 20 * 60)]),
)

# The seeded appointments lie within these days of now; the booking scenario
# takes its slots from BOOKING_FROM_DAY on, where nothing is seeded.
PAST_DAYS = 14
FUTURE_DAYS = 21
BOOKING_FROM_DAY = 30
# Providers that book a year ahead, for target 5's availableSlots horizon.
LONG_HORIZON_PROVIDERS = 200


@dataclass
class ProviderSeed:
    id: int
    user_id: int
    name: str
    timezone: str
    states: list[str]
    plans: list[int]
    windows: list[tuple[int, int, int]]
    formats: list[str]
    first_appointment: str
    intro_minutes: int
    session_minutes: int
    step_minutes: int
    buffer_minutes: int
    notice_hours: int
    horizon_days: int
    accepting: bool
    time_off: list[tuple[datetime, datetime]] = field(default_factory=list)


@dataclass
class World:
    """What the scenarios need to know about the seeded database."""

    now: datetime
    secret: str
    plans: list[int]
    providers: list[ProviderSeed]
    combos: list[tuple[str, int]]  # (state, plan id) filters with a full page
    clients: list[int]  # user ids of clients with sessions and no appointments
    tokens: dict[int, str]  # user id -> bearer token
    threads: list[tuple[int, int, int, int]]  # thread, client, provider, its user
    bare_threads: list[tuple[int, int, int, int]]  # the same, for the bare relay
    long_horizon: list[int]  # provider ids with a 365-day horizon

    def provider(self, provider_id: int) -> ProviderSeed:
        return self.providers[provider_id - 1]


def _weighted(rng: random.Random, items: list, cum_weights: list[int], k: int) -> list:
    """k distinct items, drawn by weight."""
    chosen: list = []
    while len(chosen) < k:
        for pick in rng.choices(items, cum_weights=cum_weights, k=k):
            if pick not in chosen:
                chosen.append(pick)
                if len(chosen) == k:
                    break
    return chosen


def make_token(secret: str, user_id: int, session_id: str, now: datetime) -> str:
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "iat": now,
        "exp": now + timedelta(days=7),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def _providers(
    rng: random.Random, count: int, plan_ids: list[int]
) -> list[ProviderSeed]:
    state_codes = [s[0] for s in STATES]
    state_weights = list(accumulate(s[2] for s in STATES))
    zone_of = {s[0]: s[1] for s in STATES}
    plan_weights = list(accumulate(p[2] for p in PLANS))
    seeds = []
    for pid in range(1, count + 1):
        states = _weighted(
            rng, state_codes, state_weights, rng.choice((1, 1, 1, 2, 2, 3))
        )
        weekdays, spans = rng.choice(WINDOW_PATTERNS)
        in_person = rng.random() < 0.4
        long_horizon = pid <= LONG_HORIZON_PROVIDERS
        seeds.append(
            ProviderSeed(
                id=pid,
                user_id=pid,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                timezone=zone_of[states[0]],
                states=states,
                plans=_weighted(rng, plan_ids, plan_weights, rng.randint(2, 6)),
                windows=[(d, a, b) for d in weekdays for a, b in spans],
                formats=["VIDEO", "IN_PERSON"] if in_person else ["VIDEO"],
                first_appointment="INTRO_CALL" if rng.random() < 0.6 else "SESSION",
                intro_minutes=15,
                session_minutes=rng.choice((45, 50, 50, 60)),
                step_minutes=rng.choice((30, 30, 30, 60)),
                buffer_minutes=rng.choice((0, 0, 10, 15)),
                notice_hours=rng.choice((24, 24, 48)),
                horizon_days=365 if long_horizon else 60,
                accepting=long_horizon or rng.random() < 0.85,
            )
        )
    return seeds


def _appointments(
    rng: random.Random,
    providers: list[ProviderSeed],
    per_provider: int,
    client_ids: list[int],
    now: datetime,
):
    """Rows for COPY: past ones completed, upcoming ones booked, on a 60-minute grid.

    Candidate times depend only on the weekly pattern, the session length and
    the zone, so they are listed once per combination and sampled per provider.
    """
    created = now - timedelta(days=30)
    candidates: dict[tuple, list[tuple[datetime, datetime, bool]]] = {}
    next_id = 1
    for p in providers:
        key = (tuple(p.windows), p.session_minutes, p.timezone)
        found = candidates.get(key)
        if found is None:
            found = candidates[key] = _candidate_times(p, now)
        picks = rng.sample(found, min(per_provider, len(found)))
        buffer = timedelta(minutes=p.buffer_minutes)
        for starts_at, ends_at, upcoming in picks:
            yield (
                next_id,
                "SESSION",
                "VIDEO",
                "BOOKED" if upcoming else "COMPLETED",
                starts_at,
                ends_at,
                ends_at + buffer,
                p.session_minutes,
                False,
                created,
                rng.choice(client_ids),
                p.id,
            )
            next_id += 1


def _candidate_times(
    p: ProviderSeed, now: datetime
) -> list[tuple[datetime, datetime, bool]]:
    zone = ZoneInfo(p.timezone)
    today = now.astimezone(zone).date()
    length = timedelta(minutes=p.session_minutes)
    times = []
    for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
        day = today + timedelta(days=offset)
        for weekday, start, end in p.windows:
            if weekday != day.isoweekday():
                continue
            for minute in range(start, end - p.session_minutes + 1, 60):
                local = datetime(
                    day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone
                )
                starts_at = local.astimezone(UTC)
                times.append((starts_at, starts_at + length, starts_at > now))
    return times


async def seed(
    dsn: str,
    *,
    providers: int,
    appointments_per_provider: int,
    active_clients: int,
    senders: int,
    provider_tokens: int,
    secret: str,
    log=print,
) -> World:
    """Fill an empty, migrated database; returns what the scenarios need."""
    rng = random.Random(6)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        plan_ids = list(range(1, len(PLANS) + 1))
        await conn.copy_records_to_table(
            "insurance_plans",
            records=[(i, name, payer) for i, (payer, name, _) in zip(plan_ids, PLANS)],
            columns=["id", "name", "payer"],
        )
        seeds = _providers(rng, providers, plan_ids)
        background = 3000
        first_client = providers + 1
        clients = list(range(first_client, first_client + active_clients))
        background_clients = list(
            range(
                first_client + active_clients,
                first_client + active_clients + background,
            )
        )

        def users():
            for p in seeds:
                yield (
                    p.user_id,
                    f"provider{p.id}@bench.test",
                    PASSWORD_HASH,
                    p.name,
                    "PROVIDER",
                    p.timezone,
                    f"bench-cal-{p.user_id}",
                    now,
                )
            for uid in clients + background_clients:
                yield (
                    uid,
                    f"client{uid}@bench.test",
                    PASSWORD_HASH,
                    f"Client {uid}",
                    "CLIENT",
                    "America/New_York",
                    f"bench-cal-{uid}",
                    now,
                )

        await conn.copy_records_to_table(
            "users",
            records=users(),
            columns=[
                "id",
                "email",
                "password_hash",
                "name",
                "role",
                "timezone",
                "calendar_secret",
                "created_at",
            ],
        )

        def provider_rows():
            for p in seeds:
                yield (
                    p.id,
                    p.user_id,
                    p.name,
                    rng.choice(CREDENTIALS),
                    f"Therapist in {p.states[0]}.",
                    orjson.dumps(rng.sample(SPECIALTIES, rng.randint(2, 4))).decode(),
                    orjson.dumps(rng.sample(MODALITIES, rng.randint(1, 3))).decode(),
                    orjson.dumps(
                        ["English"]
                        + ([rng.choice(LANGUAGES[1:])] if rng.random() < 0.3 else [])
                    ).decode(),
                    orjson.dumps(p.states).decode(),
                    orjson.dumps(p.formats).decode(),
                    p.accepting,
                    p.first_appointment,
                    p.intro_minutes,
                    p.session_minutes,
                    p.timezone,
                    "Zoom",
                    p.buffer_minutes,
                    p.notice_hours,
                    p.horizon_days,
                    p.step_minutes,
                    0,
                )

        await conn.copy_records_to_table(
            "providers",
            records=provider_rows(),
            columns=[
                "id",
                "user_id",
                "name",
                "credentials",
                "bio",
                "specialties",
                "modalities",
                "languages",
                "licensed_states",
                "formats",
                "accepting_new_clients",
                "first_appointment",
                "intro_call_minutes",
                "session_minutes",
                "timezone",
                "video_platform",
                "buffer_minutes",
                "minimum_notice_hours",
                "booking_horizon_days",
                "slot_step_minutes",
                "availability_version",
            ],
        )
        rows = await conn.fetch(
            "SELECT id, specialties, modalities, languages FROM providers"
        )
        lists = {r["id"]: r for r in rows}

        def tags():
            tag_id = 1
            for p in seeds:
                row = lists[p.id]
                values = [("state", s) for s in p.states]
                values += [("specialty", s) for s in orjson.loads(row["specialties"])]
                values += [("modality", s) for s in orjson.loads(row["modalities"])]
                values += [("language", s) for s in orjson.loads(row["languages"])]
                values += [("format", f) for f in p.formats]
                for kind, value in values:
                    yield (tag_id, kind, value, value.casefold(), p.id)
                    tag_id += 1

        await conn.copy_records_to_table(
            "provider_tags",
            records=tags(),
            columns=["id", "kind", "value", "folded", "provider_id"],
        )
        await conn.copy_records_to_table(
            "provider_plans",
            records=((p.id, plan) for p in seeds for plan in p.plans),
            columns=["providers_id", "insuranceplan_id"],
        )

        def offices():
            office_id = 1
            for p in seeds:
                count = 2 if "IN_PERSON" in p.formats and rng.random() < 0.3 else 1
                for position in range(count):
                    yield (
                        office_id,
                        p.id,
                        position,
                        ("Main office", "Second office")[position],
                        f"{rng.randint(1, 999)} Main St, Suite {rng.randint(1, 50)}",
                        p.states[0],
                    )
                    office_id += 1

        await conn.copy_records_to_table(
            "offices",
            records=offices(),
            columns=["id", "provider_id", "position", "label", "address", "state"],
        )

        def windows():
            window_id = 1
            for p in seeds:
                for weekday, start, end in p.windows:
                    yield (window_id, p.id, weekday, start, end, None)
                    window_id += 1

        await conn.copy_records_to_table(
            "availability_windows",
            records=windows(),
            columns=[
                "id",
                "provider_id",
                "weekday",
                "start_minute",
                "end_minute",
                "formats",
            ],
        )

        time_off_rows = []
        for p in seeds:
            if p.id > LONG_HORIZON_PROVIDERS and rng.random() < 0.05:
                start = now + timedelta(days=rng.randint(2, FUTURE_DAYS))
                span = (start, start + timedelta(days=rng.randint(3, 7)))
                p.time_off.append(span)
                time_off_rows.append(
                    (len(time_off_rows) + 1, p.id, span[0], span[1], None)
                )
        await conn.copy_records_to_table(
            "time_off",
            records=time_off_rows,
            columns=["id", "provider_id", "starts_at", "ends_at", "reason"],
        )

        await conn.copy_records_to_table(
            "appointments",
            records=_appointments(
                rng, seeds, appointments_per_provider, background_clients, now
            ),
            columns=[
                "id",
                "kind",
                "format",
                "status",
                "starts_at",
                "ends_at",
                "blocked_until",
                "duration_minutes",
                "cancelled_late",
                "created_at",
                "client_id",
                "provider_id",
            ],
        )

        # Sessions and tokens: the active clients, and providers who send or edit.
        token_users = clients + [
            p.user_id for p in seeds[: max(senders, provider_tokens)]
        ]
        expires = now + timedelta(days=7)
        await conn.copy_records_to_table(
            "sessions",
            records=[(f"bench-{uid}", now, expires, None, uid) for uid in token_users],
            columns=["id", "created_at", "expires_at", "revoked_at", "user_id"],
        )
        tokens = {
            uid: make_token(secret, uid, f"bench-{uid}", now) for uid in token_users
        }

        # One thread per active client with a sending provider, for Rapport, and
        # another with the next block of providers, for the bare relay.
        thread_rows = []
        threads = []
        bare_threads = []
        for index, client_id in enumerate(clients):
            for offset, into in ((0, threads), (senders, bare_threads)):
                provider = seeds[offset + index % senders]
                thread_id = len(thread_rows) + 1
                thread_rows.append(
                    (thread_id, 0, 0, 0, now, now, client_id, provider.id)
                )
                into.append((thread_id, client_id, provider.id, provider.user_id))
        await conn.copy_records_to_table(
            "message_threads",
            records=thread_rows,
            columns=[
                "id",
                "last_seq",
                "client_read_seq",
                "provider_read_seq",
                "last_activity_at",
                "created_at",
                "client_id",
                "provider_id",
            ],
        )

        for table in (
            "insurance_plans",
            "users",
            "providers",
            "provider_tags",
            "offices",
            "availability_windows",
            "time_off",
            "appointments",
            "message_threads",
            "messages",
        ):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM appointments")
    finally:
        await conn.close()

    combos = _full_page_filters(seeds)
    log(
        f"seeded providers={providers} appointments={count} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return World(
        now=now,
        secret=secret,
        plans=plan_ids,
        providers=seeds,
        combos=combos,
        clients=clients,
        tokens=tokens,
        threads=threads,
        bare_threads=bare_threads,
        long_horizon=[p.id for p in seeds[:LONG_HORIZON_PROVIDERS]],
    )


def _full_page_filters(
    seeds: list[ProviderSeed], wanted: int = 40
) -> list[tuple[str, int]]:
    """Common (state, plan) filters, each matching well over a page of providers."""
    counts: Counter[tuple[str, int]] = Counter()
    for p in seeds:
        for state in p.states:
            for plan in p.plans:
                counts[(state, plan)] += 1
    return [combo for combo, n in counts.most_common(wanted) if n > 40]
