"""Dossier fixtures: the personas' ward with a leader and an officer, and a ward-level birth case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hanoismart.directory.models import Agency
from hanoismart.identity.models import StaffRole, User
from hanoismart.procedures.models import Case
from tests.conftest import _staff
from tests.dossiers.factories import CaseFactory


@dataclass
class Desk:
    """The Hoàn Kiếm committee's staff, beside the shared personas."""

    agency: Agency
    clerk: User
    officer: User
    leader: User


@pytest.fixture
def desk(personas) -> Desk:
    agency = Agency.objects.get(code="000.70.01.H26")
    return Desk(
        agency=agency,
        clerk=personas.clerk_hoan_kiem,
        officer=_staff(StaffRole.OFFICER, agency, "Bùi Văn Thẩm Định"),
        leader=_staff(StaffRole.LEADER, agency, "Ngô Thị Lãnh Đạo"),
    )


@pytest.fixture
def birth_case(db) -> Case:
    """A ward-level birth-registration case: 3 working days, one mandatory paper (type GCS), four steps."""
    return CaseFactory()
