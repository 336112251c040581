import pytest
from django.contrib.auth.models import AnonymousUser

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.identity.models import AssuranceLevel, Membership, MembershipRole, Organisation
from hanoismart.identity.selectors.organisations import (
    acting_as,
    is_legal_representative,
    memberships_of,
    organisation_members,
    organisations_of,
)
from hanoismart.identity.services.organisations import (
    membership_add,
    membership_remove,
    organisation_register,
    organisation_update,
)
from tests.identity.factories import UserFactory

LEGAL = MembershipRole.LEGAL_REPRESENTATIVE
AUTHORISED = MembershipRole.AUTHORISED


def _register(actor, tax_code="0100109106", **fields):
    values = {"name": "Công ty TNHH Hồ Gươm Xanh", "kind": "enterprise", "address": "12 phố Hàng Bạc"}
    return organisation_register(actor=actor, tax_code=tax_code, **{**values, **fields})


# -- organisation_register --------------------------------------------------------------------------------


def test_a_verified_resident_registers_and_becomes_legal_representative(personas, hoan_kiem):
    resident = personas.resident

    organisation = _register(
        resident, tax_code=" 0100109106 ", name="  Công ty TNHH   Hồ Gươm Xanh ", ward=hoan_kiem
    )

    assert (organisation.tax_code, organisation.name, organisation.kind, organisation.ward) == (
        "0100109106",
        "Công ty TNHH Hồ Gươm Xanh",
        "enterprise",
        hoan_kiem,
    )
    membership = Membership.objects.get()
    assert (membership.user, membership.organisation, membership.role) == (resident, organisation, LEGAL)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_ref, event.subject_ref, event.object_ref, event.unit_code) == (
        "identity.organisation.registered",
        resident.public_id,
        resident.public_id,
        str(organisation.public_id),
        "00070",
    )
    assert event.details == {"tax_code": "0100109106", "legal_representative": str(resident.public_id)}
    assert list(organisations_of(resident)) == [organisation]
    assert acting_as(resident, organisation)


def test_a_branch_tax_code_is_normalised(personas):
    organisation = _register(personas.resident, tax_code="0100109106001")
    assert organisation.tax_code == "0100109106-001"


@pytest.mark.parametrize(
    ("tax_code", "code"),
    [
        ("0100109107", "tax_code_checksum"),
        ("12345", "tax_code_format"),
        ("0100109106-000", "tax_code_branch"),
    ],
)
def test_invalid_tax_codes_are_refused(personas, tax_code, code):
    with pytest.raises(InvalidInput) as excinfo:
        _register(personas.resident, tax_code=tax_code)
    assert excinfo.value.code == code
    assert excinfo.value.details["tax_code"]
    assert Organisation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_tax_code_is_registered_once(personas):
    _register(personas.resident)
    with pytest.raises(Conflict) as excinfo:
        _register(UserFactory(), tax_code="0100109106", name="Another")
    assert excinfo.value.code == "tax_code_taken"
    assert Organisation.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_registration_needs_a_verified_identity_and_a_signed_in_actor(db):
    unverified = UserFactory(assurance_level=AssuranceLevel.SELF_REGISTERED)
    with pytest.raises(PermissionDenied) as excinfo:
        _register(unverified)
    assert excinfo.value.code == "assurance_too_low"
    with pytest.raises(NotAuthenticated):
        _register(AnonymousUser())
    assert Organisation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_bad_fields_are_refused(personas, hoan_kiem):
    with pytest.raises(InvalidInput):
        _register(personas.resident, name="   ")
    with pytest.raises(InvalidInput):
        _register(personas.resident, kind="corporation")
    with pytest.raises(InvalidInput):
        _register(personas.resident, ward=hoan_kiem.parent)
    assert Organisation.objects.count() == 0


def test_only_an_operator_registers_for_someone_else(personas):
    representative = UserFactory()
    with pytest.raises(PermissionDenied):
        _register(personas.clerk_hoan_kiem, legal_representative=representative)
    assert Organisation.objects.count() == 0

    organisation = _register(personas.operator, legal_representative=representative)
    assert list(organisation_members(organisation).values_list("user", "role")) == [
        (representative.pk, LEGAL)
    ]
    assert not acting_as(personas.operator, organisation)


# -- membership_add / membership_remove -------------------------------------------------------------------


@pytest.fixture
def company(personas):
    return _register(personas.resident)


def test_the_legal_representative_authorises_someone(personas, company):
    accountant = UserFactory(full_name="Ngô Thị Kế Toán")
    membership = membership_add(
        actor=personas.resident, organisation=company, user=accountant, role=AUTHORISED
    )
    assert (membership.user, membership.role) == (accountant, AUTHORISED)
    assert acting_as(accountant, company)
    assert not is_legal_representative(accountant, company)
    event = AuditEvent.objects.filter(action="identity.membership.added").get()
    assert (event.actor_ref, event.subject_ref, event.details) == (
        personas.resident.public_id,
        accountant.public_id,
        {"tax_code": "0100109106", "role": "authorised"},
    )
    assert [m.organisation for m in memberships_of(accountant)] == [company]


@pytest.mark.parametrize(
    "who", ["clerk_hoan_kiem", "clerk_other_ward", "city_manager", "stranger", "authorised"]
)
def test_others_cannot_add_members(personas, company, who):
    authorised = UserFactory()
    Membership.objects.create(user=authorised, organisation=company, role=AUTHORISED)
    actor = {"stranger": UserFactory(), "authorised": authorised}.get(who) or getattr(personas, who)
    newcomer = UserFactory()
    with pytest.raises(PermissionDenied):
        membership_add(actor=actor, organisation=company, user=newcomer, role=AUTHORISED)
    assert not acting_as(newcomer, company)
    assert not AuditEvent.objects.filter(action="identity.membership.added").exists()


def test_anonymous_cannot_add_members(company):
    newcomer = UserFactory()
    with pytest.raises(NotAuthenticated):
        membership_add(actor=AnonymousUser(), organisation=company, user=newcomer, role=AUTHORISED)
    assert not acting_as(newcomer, company)


def test_only_operators_add_legal_representatives(personas, company):
    partner = UserFactory()
    with pytest.raises(PermissionDenied):
        membership_add(actor=personas.resident, organisation=company, user=partner, role=LEGAL)
    assert not acting_as(partner, company)
    membership_add(actor=personas.operator, organisation=company, user=partner, role=LEGAL)
    assert is_legal_representative(partner, company)


def test_add_refuses_duplicates_and_unknown_roles(personas, company):
    with pytest.raises(Conflict):
        membership_add(actor=personas.resident, organisation=company, user=personas.resident, role=AUTHORISED)
    with pytest.raises(InvalidInput):
        membership_add(actor=personas.resident, organisation=company, user=UserFactory(), role="owner")
    assert Membership.objects.count() == 1
    assert not AuditEvent.objects.filter(action="identity.membership.added").exists()


def test_remove_authorised_by_the_representative_or_by_themself(personas, company):
    first, second = UserFactory(), UserFactory()
    m1 = Membership.objects.create(user=first, organisation=company, role=AUTHORISED)
    m2 = Membership.objects.create(user=second, organisation=company, role=AUTHORISED)

    membership_remove(actor=personas.resident, membership=m1)
    membership_remove(actor=second, membership=m2)

    assert not acting_as(first, company)
    assert not acting_as(second, company)
    events = AuditEvent.objects.filter(action="identity.membership.removed").order_by("at")
    assert [(e.actor_ref, e.subject_ref) for e in events] == [
        (personas.resident.public_id, first.public_id),
        (second.public_id, second.public_id),
    ]


def test_remove_refused_to_others_and_for_the_last_legal_representative(personas, company):
    authorised = UserFactory()
    m_authorised = Membership.objects.create(user=authorised, organisation=company, role=AUTHORISED)
    m_legal = Membership.objects.get(user=personas.resident)
    with pytest.raises(PermissionDenied):
        membership_remove(actor=personas.clerk_hoan_kiem, membership=m_authorised)
    with pytest.raises(PermissionDenied):
        membership_remove(actor=authorised, membership=m_legal)
    with pytest.raises(PermissionDenied):
        membership_remove(
            actor=personas.resident, membership=m_legal
        )  # only operators remove representatives
    with pytest.raises(Conflict) as excinfo:
        membership_remove(actor=personas.operator, membership=m_legal)
    assert excinfo.value.code == "last_legal_representative"
    assert Membership.objects.count() == 2
    assert not AuditEvent.objects.filter(action="identity.membership.removed").exists()


# -- organisation_update ----------------------------------------------------------------------------------


def test_update_by_representative_records_the_fields(personas, company):
    organisation_update(actor=personas.resident, organisation=company, changes={"address": "1 Tràng Tiền"})
    company.refresh_from_db()
    assert company.address == "1 Tràng Tiền"
    event = AuditEvent.objects.filter(action="identity.organisation.changed").get()
    assert event.details == {"tax_code": "0100109106", "fields": ["address"]}


def test_update_refuses_the_tax_code_and_strangers(personas, company):
    with pytest.raises(InvalidInput):
        organisation_update(
            actor=personas.operator, organisation=company, changes={"tax_code": "0100109106-001"}
        )
    with pytest.raises(PermissionDenied):
        organisation_update(actor=personas.clerk_hoan_kiem, organisation=company, changes={"name": "Khác"})
    company.refresh_from_db()
    assert (company.tax_code, company.name) == ("0100109106", "Công ty TNHH Hồ Gươm Xanh")
    assert not AuditEvent.objects.filter(action="identity.organisation.changed").exists()
