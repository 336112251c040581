import io
from collections import Counter

import pyotp
import pytest
from django.contrib.auth import authenticate
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.audit.models import AuditEvent
from hanoismart.common.validators import normalize_phone, normalize_tax_code, parse_national_id
from hanoismart.directory.services import directory_seed
from hanoismart.identity import demo_data, seeds
from hanoismart.identity.models import (
    Membership,
    MembershipRole,
    Organisation,
    RegistryCitizen,
    StaffPosition,
    User,
)
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.staff import people_visible_to


def _snapshot():
    return (
        sorted(
            User.objects.values_list("national_id", "phone", "full_name", "ward__code", "assurance_level")
        ),
        sorted(
            RegistryCitizen.objects.values_list("national_id", "full_name", "sex", "date_of_birth", "level")
        ),
        sorted(StaffPosition.objects.values_list("user__national_id", "role", "agency__code", "valid_from")),
        sorted(Organisation.objects.values_list("tax_code", "name", "ward__code")),
        sorted(Membership.objects.values_list("user__national_id", "organisation__tax_code", "role")),
        sorted(TOTPDevice.objects.values_list("user__national_id", "key", "confirmed")),
    )


@pytest.fixture
def seeded(db):
    directory_seed(province_code="01")
    out = io.StringIO()
    seeds.run(demo=True, stdout=out)
    return out.getvalue()


def test_demo_seed_counts_and_a_second_run_changes_nothing(seeded):
    assert User.objects.count() == demo_data.RESIDENT_COUNT + len(demo_data.STAFF) == 232
    assert RegistryCitizen.objects.count() == 232 + demo_data.REGISTRY_ONLY_COUNT
    assert StaffPosition.objects.count() == len(demo_data.STAFF) == 32
    assert TOTPDevice.objects.count() == 32
    assert Organisation.objects.count() == Membership.objects.count() == 20
    assert AuditEvent.objects.filter(action="identity.demo.seeded").count() == 1
    before = _snapshot()

    out = io.StringIO()
    seeds.run(demo=True, stdout=out)

    assert _snapshot() == before
    nothing = (
        "0 accounts, 0 registry records, 0 staff positions, 0 authenticator devices, 0 organisations, 0 apps"
    )
    assert f"identity: {nothing} created" in out.getvalue()
    assert (
        "agency client demo-agency, secret demo-agency-secret-hanoi-2026-not-for-production" in out.getvalue()
    )
    assert AuditEvent.objects.filter(action="identity.demo.seeded").count() == 1


def test_people_are_consistent_with_their_cccd_and_the_registry(seeded):
    registry = {r.national_id: r for r in RegistryCitizen.objects.all()}
    phones = [u.phone for u in User.objects.all()]
    assert len(set(phones)) == len(phones)
    assert None not in phones
    for user in User.objects.select_related("ward"):
        facts = parse_national_id(user.national_id)
        record = registry[user.national_id]
        assert (record.full_name, record.date_of_birth, record.sex) == (
            user.full_name,
            user.date_of_birth,
            facts.sex,
        )
        assert user.date_of_birth.year == facts.birth_year
        assert normalize_phone(user.phone) == user.phone
        assert user.ward.parent.code == "01"
        assert len(user.full_name.split()) >= 3
    levels = Counter(User.objects.values_list("assurance_level", flat=True))
    assert levels[2] > levels[1] + levels[0]
    assert levels[0] > 0
    assert levels[1] > 0
    assert len({u.ward_id for u in User.objects.all()}) > 50  # spread over the city


def test_the_demo_resident(seeded):
    resident = authenticate(username="001099000001", password="hanoi-demo-2026")
    assert resident is not None
    assert (
        resident.full_name,
        resident.date_of_birth.year,
        resident.ward.code,
        resident.assurance_level,
    ) == (
        "Nguyễn Văn An",
        1999,
        "00070",
        2,
    )
    assert authenticate(username="0912000001", password="hanoi-demo-2026") == resident
    assert Membership.objects.filter(user=resident, role=MembershipRole.LEGAL_REPRESENTATIVE).count() == 1
    assert RegistryCitizen.objects.get(national_id="001302000002").full_name == "Trần Thị Bích Ngọc"
    assert not User.objects.filter(national_id="001302000002").exists()


def test_staff_sign_in_with_the_documented_logins_and_shared_totp(seeded):
    clerk = authenticate(username="0900000001", password="hanoi-demo-2026")
    assert clerk.full_name == "Trần Thị Mai"
    assert clerk.national_id == "001190900001"
    device = TOTPDevice.objects.get(user=clerk)
    assert device.confirmed
    assert device.verify_token(pyotp.TOTP(demo_data.DEMO_TOTP_SECRET).now())
    # the clerk of Hoàn Kiếm sees the demo resident; the operator holds the operator permissions
    assert people_visible_to(actor=clerk).filter(national_id="001099000001").exists()
    operator = User.objects.get(national_id=seeds.staff_login(32)[0])
    assert operator.is_staff
    assert has_permission(operator, IdentityPermission.IDENTITY_POSITION_MANAGE)
    assert User.objects.filter(is_staff=True).count() == 1
    roles = Counter(StaffPosition.objects.values_list("role", flat=True))
    assert roles == {"clerk": 10, "officer": 8, "leader": 6, "reporter": 5, "manager": 2, "operator": 1}


def test_organisations_have_valid_tax_codes_and_verified_representatives(seeded):
    for organisation in Organisation.objects.prefetch_related("memberships__user"):
        assert normalize_tax_code(organisation.tax_code) == organisation.tax_code
        (membership,) = organisation.memberships.all()
        assert membership.role == MembershipRole.LEGAL_REPRESENTATIVE
        assert membership.user.assurance_level >= 1
        assert not membership.user.positions.exists()


def test_the_table_of_demo_accounts(seeded):
    for expected in (
        "password for all: hanoi-demo-2026",
        "001099000001  0912000001  Nguyễn Văn An",
        "Clerk, Phường Hoàn Kiếm   001190900001  0900000001  Trần Thị Mai",
        "Operator (/operator/)",
        "JBQW433JKNWWC4TUEBSGK3LPEAZDAMRW",
        "python -c 'import pyotp; print(pyotp.TOTP(\"JBQW433JKNWWC4TUEBSGK3LPEAZDAMRW\").now())'",
    ):
        assert expected in seeded


def test_without_demo_nothing_is_created_and_the_operator_note_is_printed(db):
    directory_seed(province_code="01")
    out = io.StringIO()
    seeds.run(demo=False, stdout=out)
    assert User.objects.count() == 0
    assert RegistryCitizen.objects.count() == 0
    assert "no operator yet" in out.getvalue()


def test_generated_people_are_the_same_every_time():
    codes = [f"{n:05d}" for n in range(1, 200)]
    assert seeds.demo_people(codes) == seeds.demo_people(codes)
