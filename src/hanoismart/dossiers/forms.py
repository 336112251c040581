"""Web forms of the dossier pages.

``ApplicationForm`` renders a case's application form (a JSON Schema, see ``procedures.forms_schema``) as a
Django form: the browser gets the limits as HTML attributes, and the view gets the values back as JSON types.
The rules themselves are checked on the server by ``procedures.services.form_data_validate`` (through the
dossier services), whose per-field errors the view puts back on this form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hanoismart.dossiers.models import DeliveryMethod, FilingChannel

#: Form properties the verified account already knows, by the name the catalog's forms use for them.
PROFILE_FIELDS: dict[str, str] = {
    "applicant_name": "full_name",
    "full_name": "full_name",
    "owner_name": "full_name",
    "applicant_id": "national_id",
    "national_id": "national_id",
    "owner_id": "national_id",
    "applicant_birth_date": "date_of_birth",
    "date_of_birth": "date_of_birth",
    "phone": "phone",
    "applicant_phone": "phone",
    "email": "email",
    "applicant_email": "email",
    "ward": "ward",
    "applicant_ward": "ward",
    "applicant_address": "ward",
}

FORM_PREFIX = "form"


def profile_values(user: Any) -> dict[str, Any]:
    """What the account holds for each profile attribute a form may ask for (only those that are known)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    ward = getattr(user, "ward", None)
    values = {
        "full_name": user.full_name,
        "national_id": user.national_id,
        "date_of_birth": user.date_of_birth,
        "phone": user.phone,
        "email": user.email,
        "ward": ward.name if ward is not None else "",
    }
    return {key: value for key, value in values.items() if value}


def _attrs(spec: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"class": "form-control"}
    if "pattern" in spec:
        # HTML patterns match the whole value; the schema's anchors are harmless there.
        attrs["pattern"] = spec["pattern"]
    if spec.get("type") == "string" and "pattern" in spec and spec["pattern"].strip("^$").startswith("[0-9]"):
        attrs["inputmode"] = "numeric"
    return attrs


def _field(spec: dict[str, Any], *, required: bool) -> forms.Field:
    """One Django field for one property of the schema."""
    label = spec.get("title") or ""
    help_text = spec.get("description", "")
    kind = spec["type"]
    if "enum" in spec:
        # A blank first choice, so that a required one is chosen on purpose rather than left at the first.
        choices: list[tuple[str, Any]] = [("", _("— choose —"))]
        choices += [(str(value), str(value)) for value in spec["enum"]]
        return forms.TypedChoiceField(
            label=label,
            help_text=help_text,
            required=required,
            choices=choices,
            coerce=_coerce_for(kind),
            empty_value=None,
            widget=forms.Select(attrs={"class": "form-select"}),
        )
    if kind == "boolean":
        return forms.BooleanField(
            label=label,
            help_text=help_text,
            required=False,
            widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        )
    if kind == "integer":
        return forms.IntegerField(
            label=label,
            help_text=help_text,
            required=required,
            min_value=spec.get("minimum"),
            max_value=spec.get("maximum"),
            widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
        )
    if kind == "number":
        field = forms.FloatField(
            label=label,
            help_text=help_text,
            required=required,
            min_value=spec.get("minimum"),
            max_value=spec.get("maximum"),
            widget=forms.NumberInput(attrs={"class": "form-control", "step": "any", "inputmode": "decimal"}),
        )
        return field
    if spec.get("format") == "date":
        return forms.DateField(
            label=label,
            help_text=help_text,
            required=required,
            input_formats=["%Y-%m-%d", "%d/%m/%Y"],
            widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
        )
    long_text = spec.get("maxLength", 0) > 300
    widget: forms.Widget = (
        forms.Textarea(attrs={**_attrs(spec), "rows": 3})
        if long_text
        else forms.TextInput(attrs=_attrs(spec))
    )
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        min_length=spec.get("minLength"),
        max_length=spec.get("maxLength"),
        widget=widget,
    )


def _coerce_for(kind: str):
    if kind == "integer":
        return int
    if kind == "number":
        return float
    if kind == "boolean":
        return lambda value: value in (True, "True", "true", "1")
    return str


class ApplicationForm(forms.Form):
    """The application form of one case, built from its JSON Schema, prefilled from the account."""

    def __init__(self, *args: Any, schema: dict[str, Any], user: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", FORM_PREFIX)
        super().__init__(*args, **kwargs)
        self.schema = schema or {}
        self.from_profile: set[str] = set()
        required = set(self.schema.get("required", []))
        known = profile_values(user)
        for name, spec in self.schema.get("properties", {}).items():
            if not isinstance(spec, dict) or "type" not in spec:
                continue
            field = _field(spec, required=name in required)
            self.fields[name] = field
            attribute = PROFILE_FIELDS.get(name)
            if attribute and attribute in known:
                self.initial.setdefault(name, known[attribute])
                self.from_profile.add(name)
            elif "default" in spec:
                self.initial.setdefault(name, spec["default"])

    def profile_rows(self) -> list[tuple[forms.BoundField, bool]]:
        """Each bound field and whether its value came from the account (for the template's label)."""
        return [(self[name], name in self.from_profile) for name in self.fields]

    def form_data(self) -> dict[str, Any]:
        """The cleaned values as JSON types (dates as YYYY-MM-DD); empty optional values are left out."""
        data: dict[str, Any] = {}
        properties = self.schema.get("properties", {})
        for name, value in self.cleaned_data.items():
            spec = properties.get(name, {})
            if spec.get("type") == "boolean" and "enum" not in spec:
                data[name] = bool(value)
                continue
            if value in (None, ""):
                continue
            if isinstance(value, dt.date):
                value = value.isoformat()
            data[name] = value
        return data


class DeliveryForm(forms.Form):
    """How the applicant wants the result: collect it, by post (with an address), or electronically only."""

    delivery_method = forms.ChoiceField(
        label=_("How do you want to receive the result?"),
        choices=DeliveryMethod.choices,
        initial=DeliveryMethod.COLLECT,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    delivery_address = forms.CharField(
        label=_("Postal address for the result"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "street-address"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("delivery_method") == DeliveryMethod.POST
            and not cleaned.get("delivery_address", "").strip()
        ):
            self.add_error("delivery_address", _("Give the address the result should be posted to."))
        return cleaned


class LookupForm(forms.Form):
    """The public lookup: a dossier code and the applicant's phone number."""

    code = forms.CharField(
        label=_("Dossier code"),
        max_length=60,
        widget=forms.TextInput(attrs={"class": "form-control font-monospace", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Applicant's phone number"),
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "tel", "autocomplete": "tel"}),
    )


class DeskApplicantForm(forms.Form):
    """Who the paper dossier is for, and how it came in (a clerk types it, or it is filled from a lookup)."""

    channel = forms.ChoiceField(
        label=_("How the dossier came in"),
        choices=[
            (FilingChannel.IN_PERSON, FilingChannel.IN_PERSON.label),
            (FilingChannel.POST, FilingChannel.POST.label),
        ],
        initial=FilingChannel.IN_PERSON,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    applicant_national_id = forms.RegexField(
        label=_("Applicant's national ID number"),
        regex=r"^\d{12}$",
        error_messages={"invalid": _("A national ID number has 12 digits.")},
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric", "pattern": r"\d{12}"}),
    )
    applicant_name = forms.CharField(
        label=_("Applicant's full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    applicant_phone = forms.CharField(
        label=_("Applicant's phone number"),
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "tel"}),
    )
    applicant_email = forms.EmailField(
        label=_("Email"), required=False, widget=forms.EmailInput(attrs={"class": "form-control"})
    )
    applicant_address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
