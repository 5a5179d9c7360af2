"""Tests for the demo-data seeder and the create_staff helper."""

from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

import demo
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

# Small directories keep the suite quick; the default size gets its own tests.
SMALL = 60
# The conftest `db` fixture (an emptied shared database) is added to every async
# test by its collection hook, so the tests here take it rather than open their own.


@pytest.fixture
async def seeded(db: None) -> None:
    """A database holding the default-size demo directory."""
    assert await demo.seed_demo_data() is True


async def test_default_directory_size_and_spread(seeded: None) -> None:
    providers = await Provider.all()
    assert len(providers) >= 200
    homes = {p.licensed_states[0] for p in providers}
    assert len(homes) >= 25
    required = "NY CA TX FL IL WA MA CO AZ GA NC PA OR MN NJ".split()
    assert set(required) <= homes
    assert await InsurancePlan.filter(name="Aetna Choice POS II").exists()
    assert await InsurancePlan.all().count() >= 25


async def test_demo_accounts_can_sign_in(seeded: None) -> None:
    hasher = PasswordHasher()
    expected = {
        demo.DEMO_CLIENT_EMAIL: (Role.CLIENT, "Jordan Rivera"),
        demo.DEMO_PROVIDER_EMAIL: (Role.PROVIDER, "Dr. Sam Okafor"),
        demo.DEMO_STAFF_EMAIL: (Role.STAFF, "Riley Chen"),
    }
    for email, (role, name) in expected.items():
        user = await User.get(email=email)
        assert (user.role, user.name) == (role, name)
        assert hasher.verify(user.password_hash, demo.DEMO_PASSWORD)
    # Generated providers share the hash, so any of them can sign in too.
    other = await User.filter(email__endswith="@providers.rapport.dev").first()
    assert other is not None and other.role == Role.PROVIDER
    assert hasher.verify(other.password_hash, demo.DEMO_PASSWORD)


async def test_demo_provider_profile(seeded: None) -> None:
    provider = await Provider.get(user__email=demo.DEMO_PROVIDER_EMAIL)
    await provider.fetch_related("plans", "offices", "windows", "tags")
    assert (provider.name, provider.credentials) == ("Dr. Sam Okafor", "PsyD")
    assert provider.timezone == "America/New_York"
    assert provider.licensed_states == ["NY", "NJ"]
    assert provider.accepting_new_clients
    assert provider.first_appointment == FirstAppointment.INTRO_CALL
    assert provider.formats == ["VIDEO", "IN_PERSON"]
    assert provider.booking_horizon_days == 180
    assert sorted(p.name for p in provider.plans) == [
        "Aetna Choice POS II",
        "Cigna Open Access Plus",
    ]
    assert [(o.state, "New York, NY" in o.address) for o in provider.offices] == [
        ("NY", True)
    ]
    hours = sorted((w.weekday, w.start_minute, w.end_minute) for w in provider.windows)
    assert hours == [(day, 540, 1020) for day in range(1, 6)]
    assert {(t.kind, t.value) for t in provider.tags} >= {
        (TagKind.STATE, "NY"),
        (TagKind.STATE, "NJ"),
        (TagKind.FORMAT, "VIDEO"),
        (TagKind.FORMAT, "IN_PERSON"),
    }


async def test_tags_mirror_json_lists(seeded: None) -> None:
    tags: dict[int, list[tuple[TagKind, str, str]]] = defaultdict(list)
    for pid, kind, value, folded in await ProviderTag.all().values_list(
        "provider_id", "kind", "value", "folded"
    ):
        tags[pid].append((kind, value, folded))
    for p in await Provider.all():
        expected = sorted(
            (kind, value, value.casefold())
            for kind, values in (
                (TagKind.STATE, p.licensed_states),
                (TagKind.SPECIALTY, p.specialties),
                (TagKind.MODALITY, p.modalities),
                (TagKind.LANGUAGE, p.languages),
                (TagKind.FORMAT, p.formats),
            )
            for value in values
        )
        assert sorted(tags[p.id]) == expected, p.name
        assert all(len(s) == 2 and s.isupper() for s in p.licensed_states)
        assert "English" in p.languages


async def test_profiles_are_consistent(seeded: None) -> None:
    offices: dict[int, list[Office]] = defaultdict(list)
    for o in await Office.all():
        offices[o.provider_id].append(o)  # type: ignore[attr-defined]
    windows: dict[int, list[AvailabilityWindow]] = defaultdict(list)
    for w in await AvailabilityWindow.all():
        windows[w.provider_id].append(w)  # type: ignore[attr-defined]
    users = {u.id: u for u in await User.filter(role=Role.PROVIDER)}
    for p in await Provider.all():
        ZoneInfo(p.timezone)  # raises if not a real zone
        assert users[p.user_id].timezone == p.timezone  # type: ignore[attr-defined]
        assert p.formats in (["VIDEO"], ["IN_PERSON"], ["VIDEO", "IN_PERSON"])
        assert (p.video_platform is not None) == ("VIDEO" in p.formats)
        own = offices[p.id]
        if "IN_PERSON" in p.formats:
            assert 1 <= len(own) <= 2
            assert all(o.state == p.licensed_states[0] for o in own)
        else:
            assert own == []
        assert 3 <= len(windows[p.id]) <= 5
        for w in windows[p.id]:
            assert 1 <= w.weekday <= 7
            assert 0 <= w.start_minute < w.end_minute <= 1440
            assert w.formats is None or set(w.formats) <= set(p.formats)
        assert 60 <= p.booking_horizon_days <= 365
        assert p.session_minutes in (45, 50, 53, 60)
    assert users and all(u.email == u.email.lower() for u in users.values())


async def test_ny_provider_bookable_far_ahead_with_aetna(seeded: None) -> None:
    candidates = await Provider.filter(
        tags__kind=TagKind.STATE,
        tags__folded="ny",
        booking_horizon_days__gte=120,
        accepting_new_clients=True,
        plans__name="Aetna Choice POS II",
    ).distinct()
    with_windows = [p for p in candidates if await p.windows.all().exists()]
    # Several, excluding the hand-made demo provider.
    others = [p for p in with_windows if p.name != "Dr. Sam Okafor"]
    assert len(others) >= 3


async def test_first_booking_cohort_keeps_office_hours(seeded: None) -> None:
    # scripts/first_booking.py picks the first such provider by name and
    # expects 09:00 to be the earliest time open on both sides of a DST change.
    cohort = await Provider.filter(
        timezone="America/New_York",
        tags__kind=TagKind.STATE,
        tags__folded="ny",
        accepting_new_clients=True,
        plans__name="Aetna Choice POS II",
    ).distinct()
    assert len(cohort) >= 5
    # Someone reaches the next DST change plus a week whatever today's date.
    assert max(p.booking_horizon_days for p in cohort) >= 250
    for provider in cohort:
        windows = await AvailabilityWindow.filter(provider_id=provider.id)
        assert all(w.weekday <= 5 and w.start_minute >= 540 for w in windows)
        opens_at_nine = {w.weekday for w in windows if w.start_minute == 540}
        assert opens_at_nine & {1, 2, 3} and opens_at_nine & {4, 5}, provider.name


async def test_second_seed_returns_false_and_adds_nothing(db: None) -> None:
    assert await demo.seed_demo_data(providers=SMALL) is True
    counts = [
        await model.all().count()
        for model in (User, Provider, ProviderTag, Office, AvailabilityWindow)
    ]
    assert counts[1] == SMALL + 1  # plus the demo provider
    assert await demo.seed_demo_data(providers=SMALL) is False
    assert counts == [
        await model.all().count()
        for model in (User, Provider, ProviderTag, Office, AvailabilityWindow)
    ]


async def test_any_user_blocks_seeding(db: None) -> None:
    await demo.create_staff("admin@example.org", "Admin", "s3cret-pass")
    assert await demo.seed_demo_data(providers=SMALL) is False
    assert await User.all().count() == 1
    assert await Provider.all().count() == 0


async def test_crash_leaves_database_empty(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash")

    # The last insert fails, after users, providers, tags and offices went in.
    monkeypatch.setattr(demo, "_insert_provider_plans", boom)
    with pytest.raises(RuntimeError):
        await demo.seed_demo_data(providers=SMALL)
    for model in (User, Provider, ProviderTag, Office, InsurancePlan):
        assert await model.all().count() == 0, model.__name__
    monkeypatch.undo()
    assert await demo.seed_demo_data(providers=SMALL) is True


def test_same_seed_same_directory() -> None:
    first = demo._provider_seeds(SMALL, seed=11)
    again = demo._provider_seeds(SMALL, seed=11)
    other = demo._provider_seeds(SMALL, seed=12)
    assert [s.__dict__ for s in first] == [s.__dict__ for s in again]
    assert [s.__dict__ for s in first] != [s.__dict__ for s in other]
    assert len({s.email for s in first}) == SMALL


async def test_create_staff(db: None) -> None:
    user_id = await demo.create_staff(
        "  Ops@Example.org ", "Pat Ops", "correct horse", timezone="America/Chicago"
    )
    user = await User.get(id=user_id)
    assert (user.email, user.role, user.timezone) == (
        "ops@example.org",
        Role.STAFF,
        "America/Chicago",
    )
    assert PasswordHasher().verify(user.password_hash, "correct horse")
    with pytest.raises(ValueError, match="already exists"):
        await demo.create_staff("OPS@example.org", "Someone Else", "another pass")
    with pytest.raises(ValueError, match="time zone"):
        await demo.create_staff(
            "tz@example.org", "Tz", "long enough", timezone="Mars/Olympus"
        )
    assert await User.all().count() == 1


@pytest.mark.parametrize(
    ("email", "name", "password", "says"),
    [
        ("short@example.org", "Short", "x", "password of 8"),
        ("not-an-email", "Nobody", "long enough", "email address"),
        ("name@example.org", "Ops\u202e", "long enough", "without line breaks"),
    ],
)
async def test_staff_accounts_meet_every_sign_up_rule(db, email, name, password, says):
    with pytest.raises(ValueError, match=says):
        await demo.create_staff(email, name, password)

    assert await User.all().count() == 0
