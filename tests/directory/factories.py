import factory

from hanoismart.directory.models import Agency, AgencyKind, Unit, UnitKind


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"9{n:04d}")
    name = factory.Sequence(lambda n: f"Phường Thử Nghiệm {n}")
    kind = UnitKind.WARD


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"000.{n:02d}.99.H26")
    name = factory.LazyAttribute(lambda o: f"UBND {o.unit.name}")
    kind = AgencyKind.PEOPLES_COMMITTEE
    unit = factory.SubFactory(UnitFactory)


def hanoi() -> Unit:
    return UnitFactory(code="01", name="Thành phố Hà Nội", kind=UnitKind.CITY)


def ward(code: str, name: str) -> Unit:
    return UnitFactory(code=code, name=name, kind=UnitKind.WARD, parent=hanoi())
