import datetime as dt

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.identity.models import (
    AssuranceLevel,
    Organisation,
    OrganisationKind,
    StaffPosition,
    User,
)

PASSWORD = "correct-horse-battery-9"


def _national_id(n: int) -> str:
    # Born in Hà Nội (001), male, 1990 + n % 10; the remaining digits make it unique.
    return f"0010{90 + n % 10:02d}{n:06d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    national_id = factory.Sequence(_national_id)
    phone = factory.Sequence(lambda n: f"091{n:07d}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn Thử {n}")
    date_of_birth = dt.date(1990, 1, 1)
    assurance_level = AssuranceLevel.LEVEL_2

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class StaffPositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffPosition

    user = factory.SubFactory(UserFactory)
    role = "clerk"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    tax_code = "0100109106"
    name = factory.Sequence(lambda n: f"Công ty TNHH Thử Nghiệm {n}")
    kind = OrganisationKind.ENTERPRISE


def confirmed_totp_device(user: User) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})
    return device
