"""CompiledQuery: a queryset compiled once, run with the real values, gives what the ORM gives."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef

from hanoismart.common.queries import CompiledQuery, Param

pytestmark = pytest.mark.django_db

_CODENAME = Permission._meta.get_field("codename")


def _by_codename(codename):
    return Permission.objects.filter(codename=codename).select_related("content_type").order_by("pk")


def test_instances_are_the_querysets_with_their_select_related(django_assert_num_queries):
    query = CompiledQuery(_by_codename, codename=Param(_CODENAME, "codename-slot"))
    expected = list(_by_codename("add_group"))

    with django_assert_num_queries(1):
        found = query.instances(codename="add_group")
        assert [p.content_type.model for p in found] == ["group"]  # read with it, no second query

    assert found == expected
    assert [vars(p) | {"_state": None} for p in found] == [vars(p) | {"_state": None} for p in expected]
    assert found[0]._state.adding is False
    assert found[0]._state.db == "default"
    assert query.instances(codename="no such permission") == []


def test_the_sql_is_compiled_once_per_thread_and_database():
    built = []

    def build(codename):
        built.append(codename)
        return _by_codename(codename)

    query = CompiledQuery(build, codename=Param(_CODENAME, "codename-slot"))
    for codename in ("add_group", "change_group", "delete_group", "add_group"):
        assert [p.codename for p in query.instances(codename=codename)] == [codename]

    assert built == ["codename-slot", "codename-slot"]  # once for the router's model, once for the SQL


def test_lists_of_any_length_give_the_same_rows_as_the_orm(django_assert_num_queries):
    codenames = list(Permission.objects.order_by("pk").values_list("codename", flat=True)[:9])
    query = CompiledQuery(
        lambda codenames: Permission.objects.filter(codename__in=codenames).order_by("pk"),
        codenames=Param(_CODENAME, lambda i: f"codename-slot-{i}", many=True),
    )
    for length in range(1, len(codenames) + 1):  # compiled for 1, 2, 4, 8 and 16 values, padded between
        expected = list(Permission.objects.filter(codename__in=codenames[:length]).order_by("pk"))
        assert query.instances(codenames=codenames[:length]) == expected
    assert [p.codename for p in query.instances(codenames=[codenames[0]] * 3)] == [codenames[0]]

    with django_assert_num_queries(0):  # an empty list matches nothing, as the ORM, without a query
        assert query.instances(codenames=[]) == []


def test_rows_of_values_list_are_converted_as_the_orm_converts_them():
    group = Group.objects.create(name="clerks")
    group.permissions.add(Permission.objects.get(codename="add_group"))
    Group.objects.create(name="readers")

    def build(name):
        return (
            Group.objects.filter(name=name)
            .annotate(
                has_permissions=Exists(Group.permissions.through.objects.filter(group_id=OuterRef("pk")))
            )
            .values_list("pk", "name", "has_permissions")
        )

    query = CompiledQuery(build, name=Param(Group._meta.get_field("name"), "name-slot"))
    for name in ("clerks", "readers", "nobody"):
        assert [tuple(row) for row in query.rows(name=name)] == list(build(name))
    assert query.rows(name="clerks") == [[group.pk, "clerks", True]]  # a boolean, also on SQLite


def test_a_placeholder_that_is_not_one_parameter_of_the_query_is_refused():
    query = CompiledQuery(
        lambda codename: Permission.objects.filter(codename=codename, name=codename),
        codename=Param(_CODENAME, "codename-slot"),
    )
    with pytest.raises(ValueError, match="codename-slot"):
        query.instances(codename="add_group")
    with pytest.raises(TypeError):
        query.instances(name="add_group")
