"""Selectors: who is expected to report (one query) agrees with the full list of expected reporters."""

import datetime as dt

from hanoismart.reporting.models import Assignment
from hanoismart.reporting.selectors import is_expected, reporters_expected
from tests.directory.factories import ward


def test_is_expected_agrees_with_reporters_expected(world, hoan_kiem, ba_dinh, personas):
    # given the wards assigned, a ward that is not, and the department (assigned from 2020, then inactive)
    department = personas.department_officer.positions.get().agency
    outsider = ward("00008", "Phường Không Giao")
    Assignment.objects.filter(form=world.form, unit=outsider).delete()
    period = world.period
    city = hoan_kiem.parent

    def both(unit, agency=None):
        listed = {reporter.key for reporter in reporters_expected(form=world.form, period=period)}
        key = (unit.pk, agency.pk if agency else None)
        return (is_expected(form=world.form, period=period, unit=unit, agency=agency), key in listed)

    # then
    assert both(hoan_kiem) == (True, True)
    assert both(outsider) == (False, False)
    assert both(department.unit, department) == (False, False)
    Assignment.objects.create(form=world.form, agency=department, valid_from=dt.date(2020, 1, 1))
    assert department.unit_id == city.pk
    assert both(city, department) == (True, True)
    assert both(hoan_kiem, department) == (False, False)  # an agency reports where it serves
    department.is_active = False
    department.save(update_fields=["is_active"])
    assert both(city, department) == (False, False)
    # a ward whose assignment ended before the period's cut-off
    Assignment.objects.filter(form=world.form, unit=ba_dinh).update(
        valid_from=dt.date(2020, 1, 1), valid_to=period.end
    )
    assert both(ba_dinh) == (False, False)
