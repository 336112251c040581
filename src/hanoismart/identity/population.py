"""The national population database, behind one small interface.

Verification asks the registry for the record of a national ID number and compares it with what the person
typed. The demo and the tests use ``SimulatorRegistry`` (the seeded table ``identity.RegistryCitizen``); the
real connection (through the national data-sharing platform) is another class with the same ``lookup`` and is
chosen by ``settings.POPULATION_REGISTRY``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from hanoismart.identity.models import RegistryCitizen


@dataclass(frozen=True)
class RegistryRecord:
    """What the population database holds about one citizen, as far as verification needs it."""

    national_id: str
    full_name: str
    date_of_birth: dt.date
    sex: str
    ward_code: str
    level: int  # the assurance level the registry vouches for: 1, or 2 when the face is verified too


class PopulationRegistry(Protocol):
    """Anything that can look up a citizen by national ID number."""

    def lookup(self, national_id: str) -> RegistryRecord | None:
        """The record of this national ID number, or ``None`` when the registry has none."""
        ...


class SimulatorRegistry:
    """The local stand-in for the population database: reads ``identity.RegistryCitizen``."""

    def lookup(self, national_id: str) -> RegistryRecord | None:
        citizen = RegistryCitizen.objects.filter(national_id=national_id).first()
        if citizen is None:
            return None
        return RegistryRecord(
            national_id=citizen.national_id,
            full_name=citizen.full_name,
            date_of_birth=citizen.date_of_birth,
            sex=citizen.sex,
            ward_code=citizen.ward_code,
            level=citizen.level,
        )


_REGISTRIES: dict[str, type[PopulationRegistry]] = {"simulator": SimulatorRegistry}


def get_population_registry() -> PopulationRegistry:
    """The registry adapter named by ``settings.POPULATION_REGISTRY``."""
    try:
        return _REGISTRIES[settings.POPULATION_REGISTRY]()
    except KeyError:
        raise ImproperlyConfigured(
            f"POPULATION_REGISTRY={settings.POPULATION_REGISTRY!r} names no registry adapter."
        ) from None
