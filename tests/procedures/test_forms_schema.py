import pytest
from django.utils import translation

from hanoismart.common.errors import InvalidInput
from hanoismart.procedures.forms_schema import form_errors, schema_problems
from hanoismart.procedures.services import form_data_validate
from tests.procedures.conftest import make_case, make_procedure


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English (Vietnamese is the default and is being translated)."""
    with translation.override("en"):
        yield


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 10},
        "id": {"type": "string", "pattern": "^[0-9]{12}$"},
        "born": {"type": "string", "format": "date"},
        "sex": {"type": "string", "enum": ["nam", "nữ"]},
        "pages": {"type": "integer", "minimum": 1, "maximum": 5},
        "agree": {"type": "boolean"},
    },
    "required": ["name", "id"],
    "additionalProperties": False,
}


def test_valid_data_has_no_errors():
    data = {"name": "An", "id": "001099000001", "born": "2026-01-02", "sex": "nữ", "pages": 2, "agree": True}
    assert form_errors(SCHEMA, data) == {}


def test_each_refusal_names_the_field_and_the_problem():
    data = {"name": "A", "born": "02/01/2026", "sex": "x", "pages": 9, "agree": "yes", "extra": 1}
    assert form_errors(SCHEMA, data) == {
        "id": ["This field is required."],
        "name": ["Must be at least 2 characters long."],
        "born": ["Must be a date written YYYY-MM-DD."],
        "sex": ["Must be one of: nam, nữ."],
        "pages": ["Must be at most 5."],
        "agree": ["Must be true or false."],
        "extra": ["This field is not part of the form."],
    }


def test_wrong_types_and_pattern():
    assert form_errors(SCHEMA, {"name": 5, "id": "12", "pages": True}) == {
        "name": ["Must be text."],
        "id": ["Is not in the expected format."],
        "pages": ["Must be a whole number."],
    }
    assert form_errors(SCHEMA, ["not", "an", "object"]) == {"__all__": ["The form data must be an object."]}


def test_unsupported_schemas_are_refused():
    assert schema_problems({"type": "array"}) == ["The form schema must be of type object."]
    assert schema_problems({"type": "object", "properties": {"a": {"type": "string", "oneOf": []}}}) == [
        "Field a: unsupported keyword oneOf."
    ]
    assert schema_problems({"type": "object", "properties": {}, "required": ["b"]}) == [
        "Required field b is not among the properties."
    ]


def test_service_raises_form_invalid_with_details(civil_status):
    case = make_case(make_procedure("1.001193", "Đăng ký khai sinh", field=civil_status), form_schema=SCHEMA)
    with pytest.raises(InvalidInput) as exc:
        form_data_validate(case=case, data={"name": "An"})
    assert exc.value.as_dict() == {
        "code": "form_invalid",
        "detail": "The application form has errors.",
        "errors": {"id": ["This field is required."]},
    }
