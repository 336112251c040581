"""Shared fixtures: named personas and a way to sign each of them in (staff with their second factor)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from huey.contrib.djhuey import HUEY

from hanoismart.directory.models import Agency, AgencyKind
from hanoismart.directory.selectors import working_calendar_clear
from hanoismart.identity.models import StaffPosition, StaffRole, User
from tests.directory.factories import AgencyFactory, hanoi, ward
from tests.identity.factories import UserFactory, confirmed_totp_device


@pytest.fixture(autouse=True)
def _fresh_working_calendar():
    """The calendar is cached per process; a rolled-back test must not leave its days in the cache."""
    working_calendar_clear()
    yield
    working_calendar_clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas get passwords; Argon2's deliberate cost would make the suite slow for nothing it checks.
    Production uses Argon2 (settings.PASSWORD_HASHERS); tests that check hashing set it back themselves."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hanoismart.identity.hashers.ClientSecretHasher",  # apps' client secrets (settings.py)
    ]


@pytest.fixture(autouse=True)
def _huey_runs_tasks_in_process():
    """Background tasks run at once in tests, so their effects can be asserted."""
    HUEY.immediate = True


@dataclass
class Personas:
    resident: User
    clerk_hoan_kiem: User
    clerk_other_ward: User
    department_officer: User
    city_manager: User
    operator: User


def _staff(role: str, agency: Agency, name: str) -> User:
    user = UserFactory(full_name=name)
    StaffPosition.objects.create(user=user, role=role, agency=agency)
    confirmed_totp_device(user)
    return user


@pytest.fixture
def hoan_kiem(db):
    return ward("00070", "Phường Hoàn Kiếm")


@pytest.fixture
def ba_dinh(db):
    return ward("00004", "Phường Ba Đình")


@pytest.fixture
def personas(db, hoan_kiem, ba_dinh) -> Personas:
    city = hanoi()
    city_office = AgencyFactory(
        code="000.00.01.H26", name="Văn phòng UBND Thành phố", kind=AgencyKind.OFFICE, unit=city
    )
    department = AgencyFactory(code="000.00.13.H26", name="Sở Tư pháp", kind=AgencyKind.DEPARTMENT, unit=city)
    hk_committee = AgencyFactory(code="000.70.01.H26", name="UBND Phường Hoàn Kiếm", unit=hoan_kiem)
    bd_committee = AgencyFactory(code="000.04.01.H26", name="UBND Phường Ba Đình", unit=ba_dinh)
    operator = _staff(StaffRole.OPERATOR, city_office, "Lê Thị Vận Hành")
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    return Personas(
        resident=UserFactory(full_name="Trần Thị Dân", ward=hoan_kiem),
        clerk_hoan_kiem=_staff(StaffRole.CLERK, hk_committee, "Phạm Văn Một Cửa"),
        clerk_other_ward=_staff(StaffRole.CLERK, bd_committee, "Hoàng Văn Khác"),
        department_officer=_staff(StaffRole.OFFICER, department, "Đỗ Thị Chuyên Viên"),
        city_manager=_staff(StaffRole.MANAGER, city_office, "Vũ Văn Quản Lý"),
        operator=operator,
    )


@pytest.fixture
def sign_in():
    """Return a function that gives a test client signed in as a user, with the second factor for staff."""

    def _sign_in(user: User, client: Client | None = None) -> Client:
        client = client or Client()
        client.force_login(user)
        if user.positions.exists():
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = confirmed_totp_device(user).persistent_id
            session.save()
        return client

    return _sign_in
