"""Forms of the document store's pages: an owner's upload and its corrections, a shared link, /verify."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# The kinds of paper residents most often keep, by the national document-type codes the catalog's dossier
# components use (procedures' catalog), so an upload can later satisfy a component.
UPLOAD_TYPES = [
    ("CCCD", _("Citizen identity card")),
    ("GCS", _("Birth notice (giấy chứng sinh)")),
    ("XNTTHN", _("Certificate of marital status")),
    ("CMCOHP", _("Proof of lawful residence")),
    ("GCNQSDD", _("Land-use right certificate")),
    ("GCNDKHKD", _("Household business registration certificate")),
    ("VBUQ", _("Certified letter of authorisation")),
    ("XNKT", _("Disability certificate or medical record")),
    ("other", _("Another paper")),
]
_DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"})
_TEXT = {"class": "form-control"}


class DocumentDetailsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=500, widget=forms.TextInput(attrs=_TEXT))
    number = forms.CharField(
        label=_("Number (số ký hiệu)"), max_length=100, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    issuer_name = forms.CharField(
        label=_("Issued by"), max_length=300, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    issued_on = forms.DateField(label=_("Issued on"), required=False, widget=_DATE)
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=_DATE)


class DocumentUploadForm(DocumentDetailsForm):
    type_code = forms.ChoiceField(
        label=_("Kind of paper"), choices=UPLOAD_TYPES, widget=forms.Select(attrs={"class": "form-select"})
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, JPEG or PNG."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    field_order = ["type_code", "title", "file", "number", "issuer_name", "issued_on", "valid_until"]

    def type_name(self) -> str:
        return str(dict(UPLOAD_TYPES).get(self.cleaned_data.get("type_code"), ""))


class ShareForm(forms.Form):
    days = forms.IntegerField(
        label=_("Link works for (days)"),
        min_value=1,
        initial=7,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The service enforces the bound; the browser shows it.
        self.fields["days"].widget.attrs["max"] = settings.DOCUMENT_SHARE_MAX_DAYS


class VerifyUploadForm(forms.Form):
    file = forms.FileField(
        label=_("The PDF to check"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".pdf,application/pdf"}),
    )
