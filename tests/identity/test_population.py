"""The population registry adapter: the simulator reads the seeded table; the setting chooses the adapter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from hanoismart.identity.models import RegistryCitizen
from hanoismart.identity.population import RegistryRecord, SimulatorRegistry, get_population_registry

pytestmark = pytest.mark.django_db


def test_the_simulator_returns_the_seeded_record():
    RegistryCitizen.objects.create(
        national_id="001095000123",
        full_name="Nguyễn Thị Hoa",
        date_of_birth=dt.date(1995, 4, 30),
        sex="female",
        ward_code="00070",
        level=1,
    )

    record = SimulatorRegistry().lookup("001095000123")

    assert record == RegistryRecord(
        national_id="001095000123",
        full_name="Nguyễn Thị Hoa",
        date_of_birth=dt.date(1995, 4, 30),
        sex="female",
        ward_code="00070",
        level=1,
    )


def test_the_simulator_knows_nothing_of_an_unseeded_number():
    assert SimulatorRegistry().lookup("001095000999") is None


def test_the_setting_chooses_the_adapter(settings):
    settings.POPULATION_REGISTRY = "simulator"
    assert isinstance(get_population_registry(), SimulatorRegistry)

    settings.POPULATION_REGISTRY = "nowhere"
    with pytest.raises(ImproperlyConfigured, match="POPULATION_REGISTRY='nowhere'"):
        get_population_registry()
