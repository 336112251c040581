"""Identity's part of ``hanoismart seed``: with ``--demo``, the demo's residents, staff and organisations.

Without ``--demo`` nothing is created (accounts are real people's); a note says how to appoint the first
operator when there is none. With ``--demo`` the people are drawn from ``demo_data`` with a fixed random seed,
so every run produces the same city: residents with valid CCCD numbers and mobiles spread over the wards,
their population-registry records (plus some people with a record but no account, to try registering), the
staff roster with one shared TOTP secret, and organisations with valid tax codes. Rows are matched by national
ID and tax code: a second run creates nothing and changes nothing. The directory's seeds run first.

This is bootstrap data, so rows are bulk-created here instead of one service call each (230 accounts would
take minutes); one audit event records the seeding.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from dataclasses import dataclass
from typing import TextIO

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.audit.services import audit_record
from hanoismart.common.text import fold
from hanoismart.common.validators import normalize_phone, normalize_tax_code, parse_national_id
from hanoismart.directory.models import Agency
from hanoismart.directory.selectors import agency_committee_of, unit_list
from hanoismart.identity import demo_data as data
from hanoismart.identity.models import (
    ClientApp,
    ClientAppStatus,
    ClientScope,
    Membership,
    MembershipRole,
    Organisation,
    RegistryCitizen,
    StaffPosition,
    StaffRole,
    User,
)

DEMO_POSITIONS_FROM = dt.date(2025, 7, 1)  # the first day of two-level local government
DEMO_TOTP_DEVICE_NAME = "HanoiSmart demo"
_VERIFICATION_METHOD = "population_registry"
_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass(frozen=True)
class Person:
    """A made-up citizen: what the population registry knows, plus the account's phone and level."""

    national_id: str
    full_name: str
    sex: str
    date_of_birth: dt.date
    phone: str
    ward_code: str
    level: int


def run(*, demo: bool, stdout: TextIO) -> None:
    """Seed the demo's people (``demo=True`` only) and print how to sign in."""
    if not demo:
        if not StaffPosition.objects.filter(role=StaffRole.OPERATOR, valid_to__isnull=True).exists():
            stdout.write(
                "identity: no operator yet. Create an account with `hanoismart createsuperuser`, sign in at "
                "/operator/ and appoint an operator under Staff positions.\n"
            )
        return
    created = seed_demo_people()
    stdout.write(
        "identity: {users} accounts, {registry} registry records, {positions} staff positions, "
        "{devices} authenticator devices, {organisations} organisations, {apps} apps created\n".format(
            **created
        )
    )
    print_demo_accounts(stdout=stdout)


# -- generating the people -------------------------------------------------------------------------------


def _national_id(rng: random.Random, province: str, sex: str, year: int, taken: set[str]) -> str:
    century_sex = (0 if year < 2000 else 2) + (1 if sex == "female" else 0)
    while True:
        # serials from 900000 up are kept for the staff roster (see demo_data)
        number = f"{province}{century_sex}{year % 100:02d}{rng.randint(1, 899_999):06d}"
        if number not in taken:
            taken.add(number)
            return number


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = f"{rng.choice(data.MOBILE_PREFIXES)}{rng.randint(0, 9_999_999):07d}"
        if number not in taken and not number.startswith("0900"):
            taken.add(number)
            return number


def _weighted(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _random_person(rng: random.Random, ward_codes: list[str], ids: set[str], phones: set[str]) -> Person:
    sex = rng.choice(("male", "female"))
    year = rng.randint(1950, 2006)
    born = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
    name = " ".join(
        (
            _weighted(rng, data.FAMILY_NAMES),
            rng.choice(data.MIDDLE_NAMES[sex]),
            rng.choice(data.GIVEN_NAMES[sex]),
        )
    )
    if rng.random() < data.STAFFED_UNIT_SHARE:
        ward_code = rng.choice(data.STAFFED_UNIT_CODES)
    else:
        ward_code = rng.choice(ward_codes)
    levels = dict(data.ASSURANCE_LEVELS)
    return Person(
        national_id=_national_id(rng, str(_weighted(rng, data.BIRTH_PROVINCES)), sex, year, ids),
        full_name=name,
        sex=sex,
        date_of_birth=born,
        phone=_phone(rng, phones),
        ward_code=ward_code,
        level=int(_weighted(rng, levels)),  # type: ignore[call-overload]
    )


def _fixed(resident: data.DemoResident, sex: str, level: int = 2) -> Person:
    return Person(
        national_id=resident.national_id,
        full_name=resident.full_name,
        sex=sex,
        date_of_birth=dt.date(*resident.birth_date),
        phone=resident.phone,
        ward_code=resident.ward_code,
        level=level,
    )


def staff_login(index: int) -> tuple[str, str]:
    """The national ID and phone of the ``index``-th (from 1) person of ``demo_data.STAFF``."""
    member = data.STAFF[index - 1]
    century_sex = (0 if member.birth_year < 2000 else 2) + (1 if member.sex == "female" else 0)
    return f"001{century_sex}{member.birth_year % 100:02d}9000{index:02d}", f"09000000{index:02d}"


def demo_people(ward_codes: list[str]) -> tuple[list[Person], list[Person], list[Person]]:
    """The demo's (residents with accounts, staff, registry-only people), the same on every call."""
    rng = random.Random(data.RANDOM_SEED)  # noqa: S311 - made-up people, not secrets
    residents = [_fixed(data.DEMO_RESIDENT, "male")]
    registry_only = [_fixed(data.DEMO_NEWCOMER, "female")]
    staff = []
    for index, member in enumerate(data.STAFF, start=1):
        national_id, phone = staff_login(index)
        born = dt.date(member.birth_year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        ward = (
            member.agency.removeprefix("ward:")
            if member.agency.startswith("ward:")
            else rng.choice(ward_codes)
        )
        staff.append(Person(national_id, member.full_name, member.sex, born, phone, ward, 2))
    ids = {p.national_id for p in residents + registry_only + staff}
    phones = {p.phone for p in residents + registry_only + staff}
    while len(residents) < data.RESIDENT_COUNT:
        residents.append(_random_person(rng, ward_codes, ids, phones))
    while len(registry_only) < data.REGISTRY_ONLY_COUNT:
        registry_only.append(_random_person(rng, ward_codes, ids, phones))
    for person in residents + registry_only + staff:  # a wrong generator must fail loudly, not seed bad data
        facts = parse_national_id(person.national_id)
        assert (facts.sex, facts.birth_year) == (person.sex, person.date_of_birth.year), person  # noqa: S101
        normalize_phone(person.phone)
    return residents, staff, registry_only


def tax_code(rng: random.Random) -> str:
    """A valid 10-digit tax code of a Hanoi business (01…), with its check digit."""
    while True:
        body = "01" + "".join(str(rng.randint(0, 9)) for _ in range(7))
        check = 10 - sum(int(d) * w for d, w in zip(body, _TAX_WEIGHTS, strict=True)) % 11
        if check < 10:
            return normalize_tax_code(f"{body}{check}")


# -- writing them ----------------------------------------------------------------------------------------


def _moment(rng: random.Random) -> dt.datetime:
    start = dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)
    return start + dt.timedelta(days=rng.randrange(150), minutes=rng.randrange(600))


@transaction.atomic
def seed_demo_people() -> dict[str, int]:
    """Create whatever part of the demo's people is missing; returns how many rows of each kind were made."""
    units = {unit.code: unit for unit in unit_list(parent_code=settings.PROVINCE_CODE).order_by("code")}
    if not units:
        raise RuntimeError("Seed the directory first: the demo's people live in its wards.")
    residents, staff, registry_only = demo_people(sorted(units))
    rng = random.Random(data.RANDOM_SEED + 1)  # noqa: S311 - dates of made-up accounts
    created = dict.fromkeys(("users", "registry", "positions", "devices", "organisations", "apps"), 0)

    # Accounts (residents and staff), hashing the shared password once.
    account_holders = residents + staff
    existing = set(
        User.objects.filter(national_id__in=[p.national_id for p in account_holders]).values_list(
            "national_id", flat=True
        )
    )
    taken_phones = set(User.objects.filter(phone__isnull=False).values_list("phone", flat=True))
    password = make_password(data.DEMO_PASSWORD) if len(existing) < len(account_holders) else ""
    operator_ids = {staff_login(i)[0] for i, m in enumerate(data.STAFF, 1) if m.role == StaffRole.OPERATOR}
    new_users = []
    for person in account_holders:
        joined, verified = _moment(rng), _moment(rng)  # drawn for everyone, so later people don't shift
        if person.national_id in existing:
            continue
        new_users.append(
            User(
                national_id=person.national_id,
                full_name=person.full_name,
                full_name_folded=fold(person.full_name),
                date_of_birth=person.date_of_birth,
                phone=person.phone if person.phone not in taken_phones else None,
                ward=units.get(person.ward_code),
                assurance_level=person.level,
                verified_at=max(joined, verified) if person.level else None,
                verification_method=_VERIFICATION_METHOD if person.level else "",
                date_joined=joined,
                is_staff=person.national_id in operator_ids,
                password=password,
            )
        )
    User.objects.bulk_create(new_users)
    created["users"] = len(new_users)

    # The population registry knows everybody, with or without an account.
    everybody = residents + staff + registry_only
    known = set(
        RegistryCitizen.objects.filter(national_id__in=[p.national_id for p in everybody]).values_list(
            "national_id", flat=True
        )
    )
    new_records = [
        RegistryCitizen(
            national_id=p.national_id,
            full_name=p.full_name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            ward_code=p.ward_code,
            level=max(p.level, 1) if p in registry_only else 2,
        )
        for p in everybody
        if p.national_id not in known
    ]
    RegistryCitizen.objects.bulk_create(new_records)
    created["registry"] = len(new_records)

    created["positions"], created["devices"] = _seed_staff(units)
    created["organisations"] = _seed_organisations(residents, units)
    created["apps"] = seed_demo_apps()
    if any(created.values()):
        audit_record(actor=None, action="identity.demo.seeded", details=created)
    return created


def _agency(reference: str, units: dict) -> Agency | None:
    if reference.startswith("ward:"):
        unit = units.get(reference.removeprefix("ward:"))
        return agency_committee_of(unit) if unit is not None else None
    return Agency.objects.filter(code=reference, is_active=True).first()


def _seed_staff(units: dict) -> tuple[int, int]:
    users = {
        u.national_id: u
        for u in User.objects.filter(
            national_id__in=[staff_login(i)[0] for i in range(1, len(data.STAFF) + 1)]
        )
    }
    key = base64.b32decode(data.DEMO_TOTP_SECRET).hex()
    with_device = set(TOTPDevice.objects.filter(user__in=users.values()).values_list("user_id", flat=True))
    positions = devices = 0
    for index, member in enumerate(data.STAFF, start=1):
        user = users[staff_login(index)[0]]
        agency = _agency(member.agency, units)
        if agency is not None:
            _, made = StaffPosition.objects.get_or_create(
                user=user,
                role=member.role,
                agency=agency,
                valid_from=DEMO_POSITIONS_FROM,
                defaults={"title": member.title},
            )
            positions += made
        if user.pk not in with_device:
            TOTPDevice.objects.create(user=user, name=DEMO_TOTP_DEVICE_NAME, key=key, confirmed=True)
            devices += 1
    return positions, devices


def _seed_organisations(residents: list[Person], units: dict) -> int:
    rng = random.Random(data.RANDOM_SEED + 2)  # noqa: S311 - made-up businesses
    verified = [p for p in residents[1:] if p.level >= 1]  # the demo resident gets the first one
    plan = []
    for position, (name, kind) in enumerate(data.ORGANISATIONS):
        representative = residents[0] if position == 0 else rng.choice(verified)
        ward_code = rng.choice(data.STAFFED_UNIT_CODES)
        address = f"{rng.randint(1, 120)} {rng.choice(data.STREETS)}"
        plan.append((tax_code(rng), name, kind, address, ward_code, representative.national_id))
    existing = set(
        Organisation.objects.filter(tax_code__in=[p[0] for p in plan]).values_list("tax_code", flat=True)
    )
    people = {u.national_id: u for u in User.objects.filter(national_id__in=[p[5] for p in plan])}
    made = 0
    for code, name, kind, address, ward_code, representative in plan:
        if code in existing:
            continue
        organisation = Organisation.objects.create(
            tax_code=code, name=name, kind=kind, address=address, ward=units.get(ward_code)
        )
        Membership.objects.create(
            user=people[representative], organisation=organisation, role=MembershipRole.LEGAL_REPRESENTATIVE
        )
        made += 1
    return made


def seed_demo_apps() -> int:
    """The demo's approved apps: the public ``demo-city-app`` and the confidential agency ``demo-agency``
    (client credentials, secret ``demo_data.DEMO_AGENCY_CLIENT_SECRET``). Returns how many were created."""
    made = 0
    specs = (
        (
            data.DEMO_APP_CLIENT_ID,
            {
                "name": "Hà Nội Của Tôi (demo)",
                "description": "The demo city app: your dossiers, appointments and ward news in one place.",
                "client_type": ClientApp.CLIENT_PUBLIC,
                "authorization_grant_type": ClientApp.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": data.DEMO_APP_REDIRECT_URI,
                "post_logout_redirect_uris": data.DEMO_APP_POST_LOGOUT_URI,
                "client_secret": "",
                "privacy_policy_url": "https://hanoismart.example/privacy",
            },
            data.DEMO_APP_SCOPES,
        ),
        (
            data.DEMO_AGENCY_CLIENT_ID,
            {
                "name": "Sở Tư pháp: hệ thống nghiệp vụ (demo)",
                "description": "The Department of Justice's case system: dossiers and papers it handles.",
                "client_type": ClientApp.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": ClientApp.GRANT_CLIENT_CREDENTIALS,
                "client_secret": data.DEMO_AGENCY_CLIENT_SECRET,
                "is_city_agency": True,
            },
            data.DEMO_AGENCY_SCOPES,
        ),
    )
    for client_id, fields, scopes in specs:
        if ClientApp.objects.filter(client_id=client_id).exists():
            continue
        app = ClientApp(client_id=client_id, status=ClientAppStatus.APPROVED, **fields)
        app.full_clean()
        app.save()
        ClientScope.objects.bulk_create(
            ClientScope(app=app, scope=scope, purpose=purpose, is_optional=optional)
            for scope, purpose, optional in scopes
        )
        made += 1
    return made


# -- telling people how to sign in -----------------------------------------------------------------------


def _first_staff(role: str, agency: str | None = None) -> int:
    return next(
        i for i, m in enumerate(data.STAFF, 1) if m.role == role and (agency is None or m.agency == agency)
    )


def print_demo_accounts(*, stdout: TextIO) -> None:
    """Print the demo's sign-in table (only when the demo resident exists)."""
    if not User.objects.filter(national_id=data.DEMO_RESIDENT.national_id).exists():
        return
    rows = [
        (
            "Resident (level 2)",
            data.DEMO_RESIDENT.national_id,
            data.DEMO_RESIDENT.phone,
            data.DEMO_RESIDENT.full_name,
        )
    ]
    for label, index in (
        ("Clerk, Phường Hoàn Kiếm", _first_staff(StaffRole.CLERK, "ward:00070")),
        ("Officer, Sở Tư pháp", _first_staff(StaffRole.OFFICER, data.SO_TU_PHAP)),
        ("Leader, Phường Hoàn Kiếm", _first_staff(StaffRole.LEADER, "ward:00070")),
        ("City manager (IOC)", _first_staff(StaffRole.MANAGER)),
        ("Operator (/operator/)", _first_staff(StaffRole.OPERATOR)),
    ):
        national_id, phone = staff_login(index)
        rows.append((label, national_id, phone, data.STAFF[index - 1].full_name))
    rows.append(
        (
            "Not registered yet",
            data.DEMO_NEWCOMER.national_id,
            data.DEMO_NEWCOMER.phone,
            data.DEMO_NEWCOMER.full_name,
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    stdout.write(f"\nDemo accounts (password for all: {data.DEMO_PASSWORD})\n")
    header = ("Who", "National ID", "Phone", "Name")
    for row in (header, *rows):
        stdout.write(
            "  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) + "\n"
        )
    stdout.write(
        f"  Other staff: phones 0900000001 to 09000000{len(data.STAFF):02d} "
        "(roster in hanoismart/identity/demo_data.py).\n"
        f"Staff second factor, TOTP secret {data.DEMO_TOTP_SECRET}: any authenticator app, or: "
        f"python -c 'import pyotp; print(pyotp.TOTP(\"{data.DEMO_TOTP_SECRET}\").now())'\n"
        f"Registering needs the registry's record: try {data.DEMO_NEWCOMER.national_id} "
        f"({data.DEMO_NEWCOMER.full_name}, born {dt.date(*data.DEMO_NEWCOMER.birth_date):%d/%m/%Y}).\n"
    )
    if ClientApp.objects.filter(client_id=data.DEMO_AGENCY_CLIENT_ID).exists():
        stdout.write(
            "Sign in with HanoiSmart (OpenID Connect, docs/sign-in-with-hanoismart.md): discovery at "
            f"{settings.SITE_URL}/.well-known/openid-configuration\n"
            f"  public app {data.DEMO_APP_CLIENT_ID}, redirect URI {data.DEMO_APP_REDIRECT_URI} (PKCE S256)\n"
            f"  agency client {data.DEMO_AGENCY_CLIENT_ID}, secret {data.DEMO_AGENCY_CLIENT_SECRET} "
            "(client credentials)\n"
        )
