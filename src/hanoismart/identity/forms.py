"""Forms of the account and sign-in pages: parsing only (the rules live in the services), sized for a phone:
full-width large inputs with the right keyboard (``inputmode``) and autofill (``autocomplete``) hints."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hanoismart.common.validators import normalize_national_id
from hanoismart.identity.selectors.accounts import ward_choices

CODE_ATTRS = {
    "inputmode": "numeric",
    "autocomplete": "one-time-code",
    "pattern": r"[0-9 ]*",
    "maxlength": "7",
    "class": "text-center fs-3 font-monospace",
}


class PageForm(forms.Form):
    """Bootstrap classes on every widget, ``is-invalid`` and ``aria-invalid`` on fields with errors."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            base = (
                "form-select form-select-lg"
                if isinstance(widget, forms.Select)
                else "form-control form-control-lg"
            )
            widget.attrs["class"] = f"{base} {widget.attrs.get('class', '')}".strip()
            if field.help_text:
                widget.attrs["aria-describedby"] = f"{name}-help"

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid_fields()

    def mark_invalid_fields(self) -> None:
        """Flag each field with an error, so the page shows the error next to it."""
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs["class"]:
                    widget.attrs["class"] += " is-invalid"
                widget.attrs["aria-invalid"] = "true"
                described_by = widget.attrs.get("aria-describedby", "").split()
                if f"{name}-errors" not in described_by:
                    widget.attrs["aria-describedby"] = " ".join([f"{name}-errors", *described_by])

    def add_service_errors(self, details: dict[str, Any], *, renames: dict[str, str] | None = None) -> None:
        """Put a service's per-field refusals next to the matching fields (the rest above the form)."""
        renames = renames or {}
        for key, messages in details.items():
            name = renames.get(key, key)
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                self.add_error(name if name in self.fields else None, message)
        self.mark_invalid_fields()


class RegistrationForm(PageForm):
    national_id = forms.CharField(
        label=_("National ID number (CCCD)"),
        max_length=15,
        help_text=_("The 12 digits on your citizen identity card."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        help_text=_("As printed on your citizen identity card."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("Sign-in codes are sent to this number by SMS."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    ward = forms.ModelChoiceField(
        label=_("Ward or commune where you live"),
        queryset=ward_choices(),
        empty_label=_("Choose…"),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_(
            "At least 10 characters; not only digits, not a common password, not like your name or ID."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # A fresh deployment may have no units loaded yet; registration still works without a ward.
        self.fields["ward"].queryset = ward_choices()
        self.fields["ward"].required = self.fields["ward"].queryset.exists()

    def clean_national_id(self) -> str:
        try:
            return normalize_national_id(self.cleaned_data["national_id"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords are not the same."))
        return cleaned


class SignInForm(PageForm):
    identifier = forms.CharField(
        label=_("National ID number, phone or email"),
        max_length=254,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeRequestForm(PageForm):
    identifier = forms.CharField(
        label=_("Phone number or national ID number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "spellcheck": "false", "autofocus": True}
        ),
    )


class CodeForm(PageForm):
    code = forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=7,
        widget=forms.TextInput(attrs={**CODE_ATTRS, "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (len(code) == 6 and code.isdigit()):
            raise ValidationError(_("Enter the 6 digits of the code."))
        return code


class PasswordResetCodeForm(CodeForm):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        help_text=_(
            "At least 10 characters; not only digits, not a common password, not like your name or ID."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords are not the same."))
        return cleaned


class AccountEditForm(PageForm):
    """Contact details; name and date of birth too while the account is not verified."""

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("Sign-in codes are sent to this number by SMS."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    ward = forms.ModelChoiceField(
        label=_("Ward or commune where you live"), queryset=ward_choices(), required=False, empty_label="—"
    )

    def __init__(self, *args: Any, can_edit_identity: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["ward"].queryset = ward_choices()
        if not can_edit_identity:
            del self.fields["full_name"]
            del self.fields["date_of_birth"]
