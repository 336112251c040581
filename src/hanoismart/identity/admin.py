"""Operator screens for accounts, organisations, staff positions, apps (review) and the population-registry
simulator.

Only operators see them: ``is_staff`` users holding the operator role (each screen checks its
``identity:*:manage`` permission instead of Django's model permissions). Every write goes through the identity
services, so it is checked and audited the same way as everywhere else; opening an account is audited too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from hanoismart.common.errors import ApplicationError
from hanoismart.common.text import fold
from hanoismart.common.validators import normalize_phone, normalize_tax_code, parse_national_id
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import (
    ClientApp,
    ClientAppStatus,
    ClientScope,
    Membership,
    MembershipRole,
    Organisation,
    RegistryCitizen,
    StaffPosition,
    User,
)
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.services.developer import client_app_review
from hanoismart.identity.services.organisations import (
    membership_add,
    membership_remove,
    organisation_register,
    organisation_update,
)
from hanoismart.identity.services.staff import (
    person_create,
    person_open,
    person_update,
    position_assign,
    position_end,
)


class OperatorAdmin(admin.ModelAdmin):
    """A screen for operators holding ``manage_permission``; nothing is deleted from here."""

    manage_permission: IdentityPermission

    def _allowed(self, request: HttpRequest) -> bool:
        return request.user.is_staff and has_permission(request.user, self.manage_permission)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        # A service's refusal (a rule the form could not check, or a race) rolls the whole save back and is
        # shown as a message, never as a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())


def _user_by_national_id(value: str) -> User:
    number = (value or "").strip().replace(" ", "")
    user = User.objects.filter(national_id=number).first()
    if user is None:
        raise ValidationError(_("No account has this national ID number."))
    return user


# -- accounts ----------------------------------------------------------------------------------------------


class UserCreateForm(forms.ModelForm):
    """An account created at the operator desk: the CCCD is checked and must agree with the birth year."""

    national_id = forms.CharField(label=_("national ID number"), max_length=20)
    phone = forms.CharField(label=_("mobile phone"), max_length=20, required=False)

    class Meta:
        model = User
        fields = ["national_id", "full_name", "date_of_birth", "phone", "email", "ward"]

    def clean_national_id(self) -> str:
        number = (self.cleaned_data.get("national_id") or "").strip().replace(" ", "")
        parse_national_id(number)
        return number

    def clean_phone(self) -> str | None:
        phone = self.cleaned_data.get("phone")
        return normalize_phone(phone) if phone else None

    def clean_email(self) -> str | None:
        return (self.cleaned_data.get("email") or "").strip().lower() or None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        number, born = cleaned.get("national_id"), cleaned.get("date_of_birth")
        if number and born and parse_national_id(number).birth_year != born.year:
            self.add_error("date_of_birth", _("The national ID number says another birth year."))
        return cleaned


class UserChangeForm(forms.ModelForm):
    phone = forms.CharField(label=_("mobile phone"), max_length=20, required=False)

    class Meta:
        model = User
        fields = [
            "full_name",
            "date_of_birth",
            "phone",
            "email",
            "ward",
            "preferred_language",
            "is_active",
            "is_staff",
        ]

    def clean_phone(self) -> str | None:
        phone = self.cleaned_data.get("phone")
        return normalize_phone(phone) if phone else None

    def clean_email(self) -> str | None:
        return (self.cleaned_data.get("email") or "").strip().lower() or None


@admin.register(User)
class UserAdmin(OperatorAdmin):
    """Accounts: search by national ID, mobile number or name (diacritics ignored); no password hash shown."""

    manage_permission = IdentityPermission.IDENTITY_PERSON_MANAGE
    form = UserChangeForm
    add_form = UserCreateForm
    list_display = (
        "full_name",
        "masked_national_id",
        "phone",
        "ward",
        "assurance_level",
        "is_active",
        "is_staff",
    )
    list_filter = ("assurance_level", "is_active", "is_staff")
    list_select_related = ("ward",)
    search_fields = ("=national_id", "=phone", "full_name_folded")
    ordering = ("full_name_folded", "pk")
    readonly_fields = (
        "national_id",
        "public_id",
        "assurance_level",
        "verified_at",
        "verification_method",
        "date_joined",
        "last_login",
    )
    fieldsets = (
        (None, {"fields": ("national_id", "full_name", "date_of_birth")}),
        (_("Contact"), {"fields": ("phone", "email", "ward", "preferred_language")}),
        (_("Identity assurance"), {"fields": ("assurance_level", "verified_at", "verification_method")}),
        (_("Status"), {"fields": ("is_active", "is_staff", "public_id", "date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"fields": ("national_id", "full_name", "date_of_birth", "phone", "email", "ward")}),
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return () if obj is None else self.readonly_fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        try:
            term = normalize_phone(term)
        except ValidationError:
            term = fold(term)
        return super().get_search_results(request, queryset, term)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        if request.method == "GET" and self._allowed(request):
            person = (
                User.objects.filter(pk=object_id).only("public_id").first() if object_id.isdigit() else None
            )
            if person is not None:
                person_open(actor=request.user, public_id=person.public_id, ip=client_ip(request))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        if change:
            current = User.objects.get(pk=obj.pk)
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            person_update(actor=request.user, person=current, changes=changes, ip=client_ip(request))
            return
        data = form.cleaned_data
        created = person_create(
            actor=request.user,
            national_id=data["national_id"],
            full_name=data["full_name"],
            date_of_birth=data.get("date_of_birth"),
            phone=data.get("phone"),
            email=data.get("email"),
            ward=data.get("ward"),
            ip=client_ip(request),
        )
        obj.__dict__.update(created.__dict__)  # the admin redirects to (and logs) the object it passed in


# -- organisations -----------------------------------------------------------------------------------------


class MembershipFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            role = form.cleaned_data.get("role") or getattr(form.instance, "role", "")
            kept += role == MembershipRole.LEGAL_REPRESENTATIVE
        if self.instance.pk and kept == 0:
            raise ValidationError(_("An organisation keeps at least one legal representative."))


class MembershipInline(admin.TabularInline):
    """Who acts for the organisation: rows are added or removed (through the services), never edited."""

    model = Membership
    formset = MembershipFormSet
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_permission(request.user, IdentityPermission.IDENTITY_ORGANISATION_MANAGE)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and self.has_view_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request)


class OrganisationCreateForm(forms.ModelForm):
    legal_representative = forms.CharField(
        label=_("Legal representative's national ID number"), max_length=14, required=True
    )

    class Meta:
        model = Organisation
        fields = ["tax_code", "name", "kind", "address", "ward"]

    def clean_tax_code(self) -> str:
        code = normalize_tax_code(self.cleaned_data.get("tax_code") or "")
        if Organisation.objects.filter(tax_code=code).exists():
            raise ValidationError(_("An organisation with this tax code is already registered."))
        return code

    def clean_legal_representative(self) -> User:
        return _user_by_national_id(self.cleaned_data.get("legal_representative") or "")


@admin.register(Organisation)
class OrganisationAdmin(OperatorAdmin):
    """Organisations by tax code, with the people who act for them."""

    manage_permission = IdentityPermission.IDENTITY_ORGANISATION_MANAGE
    list_display = ("name", "tax_code", "kind", "ward", "created_at")
    list_filter = ("kind",)
    list_select_related = ("ward",)
    search_fields = ("=tax_code", "name")
    inlines = [MembershipInline]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = OrganisationCreateForm
            kwargs["fields"] = [*OrganisationCreateForm.Meta.fields, "legal_representative"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [*OrganisationCreateForm.Meta.fields, "legal_representative"]
        return ["tax_code", "name", "kind", "address", "ward", "public_id", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return () if obj is None else ("tax_code", "public_id", "created_at")

    def get_inlines(self, request: HttpRequest, obj: Any = None):
        return self.inlines if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: Organisation, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            current = Organisation.objects.get(pk=obj.pk)
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            organisation_update(actor=request.user, organisation=current, changes=changes)
            return
        data = form.cleaned_data
        created = organisation_register(
            actor=request.user,
            tax_code=data["tax_code"],
            name=data["name"],
            kind=data["kind"],
            address=data.get("address") or "",
            ward=data.get("ward"),
            legal_representative=data["legal_representative"],
        )
        obj.__dict__.update(created.__dict__)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        organisation = form.instance
        for inline_form in formset.forms:
            data = getattr(inline_form, "cleaned_data", None) or {}
            if not data:
                continue
            if data.get("DELETE") and inline_form.instance.pk:
                membership_remove(actor=request.user, membership=inline_form.instance)
            elif not inline_form.instance.pk and not data.get("DELETE"):
                membership_add(
                    actor=request.user, organisation=organisation, user=data["user"], role=data["role"]
                )


# -- staff positions ---------------------------------------------------------------------------------------


class StaffPositionCreateForm(forms.ModelForm):
    person = forms.CharField(label=_("National ID number"), max_length=14)

    class Meta:
        model = StaffPosition
        fields = ["role", "agency", "title", "valid_from"]

    def clean_person(self) -> User:
        return _user_by_national_id(self.cleaned_data.get("person") or "")


@admin.register(StaffPosition)
class StaffPositionAdmin(OperatorAdmin):
    """Staff appointments. A position is not edited: it is ended (set "until") and a new one appointed."""

    manage_permission = IdentityPermission.IDENTITY_POSITION_MANAGE
    list_display = ("user", "role", "agency", "title", "valid_from", "valid_to")
    list_filter = ("role", "agency__kind")
    list_select_related = ("user", "agency")
    search_fields = ("user__full_name_folded", "=user__national_id", "agency__name", "=agency__code")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = StaffPositionCreateForm
            kwargs["fields"] = ["person", *StaffPositionCreateForm.Meta.fields]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return ["person", *StaffPositionCreateForm.Meta.fields]
        return ["user", "role", "agency", "title", "valid_from", "valid_to"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return ()
        return ("user", "role", "agency", "title", "valid_from") + (("valid_to",) if obj.valid_to else ())

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return super().get_search_results(request, queryset, fold(search_term))

    def save_model(
        self, request: HttpRequest, obj: StaffPosition, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            if "valid_to" in form.changed_data and obj.valid_to:
                position_end(
                    actor=request.user, position=StaffPosition.objects.get(pk=obj.pk), on_date=obj.valid_to
                )
            return
        data = form.cleaned_data
        created = position_assign(
            actor=request.user,
            user=data["person"],
            role=data["role"],
            agency=data["agency"],
            title=data.get("title") or "",
            valid_from=data.get("valid_from"),
        )
        obj.__dict__.update(created.__dict__)


# -- apps (the developer portal's registrations) ------------------------------------------------------------


class ClientScopeInline(admin.TabularInline):
    """The data items the app asks for, with their purposes (read-only: the developer changes them)."""

    model = ClientScope
    fields = ("scope", "purpose", "is_optional")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_permission(request.user, IdentityPermission.IDENTITY_APP_REVIEW)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


# django-oauth-toolkit registers its own Application screen, which would let anyone with the admin add an
# approved app or read the hashed secret; apps are registered in the developer portal and reviewed here.
if admin.site.is_registered(ClientApp):
    admin.site.unregister(ClientApp)


@admin.register(ClientApp)
class ClientAppAdmin(OperatorAdmin):
    """Apps registered in the developer portal: read their details, approve or reject them (with a reason)
    through ``client_app_review``, which notifies the owner. Nothing is added or edited here."""

    manage_permission = IdentityPermission.IDENTITY_APP_REVIEW
    list_display = ("name", "client_id", "status", "owner", "owner_organisation", "client_type", "created_at")
    list_filter = ("status", "client_type", "is_city_agency")
    list_select_related = ("owner", "owner_organisation")
    search_fields = ("name", "=client_id", "owner__full_name_folded", "owner_organisation__name")
    ordering = ("status", "created_at", "pk")
    fields = (
        "name",
        "status",
        "review_reason",
        "reviewed_by",
        "reviewed_at",
        "client_id",
        "client_type",
        "authorization_grant_type",
        "description",
        "logo_url",
        "privacy_policy_url",
        "redirect_uris",
        "post_logout_redirect_uris",
        "owner",
        "owner_organisation",
        "is_city_agency",
        "min_assurance_level",
        "created_at",
        "public_id",
    )
    readonly_fields = fields
    inlines = [ClientScopeInline]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _review(self, request: HttpRequest, queryset: QuerySet, decision: str, reason: str) -> None:
        done = 0
        for app in queryset:
            try:
                client_app_review(
                    actor=request.user, app=app, decision=decision, reason=reason, ip=client_ip(request)
                )
            except ApplicationError as error:
                self.message_user(request, f"{app}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                (
                    _("%(count)d app(s) approved.")
                    if decision == "approve"
                    else _("%(count)d app(s) rejected.")
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Approve the selected apps"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset.filter(status=ClientAppStatus.IN_REVIEW), "approve", "")

    @admin.action(description=_("Reject the selected apps (with a reason)"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet):
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            self._review(request, queryset, "reject", form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject apps"),
            "apps": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "identity/admin/clientapp_reject.html", context)


# -- the population registry simulator ---------------------------------------------------------------------


class RegistryCitizenForm(forms.ModelForm):
    class Meta:
        model = RegistryCitizen
        fields = ["national_id", "full_name", "date_of_birth", "sex", "ward_code", "level"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        number = (cleaned.get("national_id") or "").strip()
        if not number:
            return cleaned
        try:
            facts = parse_national_id(number)
        except ValidationError as error:
            self.add_error("national_id", error)
            return cleaned
        if cleaned.get("sex") and cleaned["sex"] != facts.sex:
            self.add_error("sex", _("The national ID number says another sex."))
        born = cleaned.get("date_of_birth")
        if born and born.year != facts.birth_year:
            self.add_error("date_of_birth", _("The national ID number says another birth year."))
        if cleaned.get("level") not in (1, 2):
            self.add_error("level", _("The registry vouches for level 1 or 2."))
        return cleaned


@admin.register(RegistryCitizen)
class RegistryCitizenAdmin(OperatorAdmin):
    """The demo's stand-in for the national population database (what verification compares against)."""

    manage_permission = IdentityPermission.IDENTITY_REGISTRY_MANAGE
    form = RegistryCitizenForm
    list_display = ("national_id", "full_name", "date_of_birth", "sex", "ward_code", "level")
    list_filter = ("sex", "level")
    search_fields = ("=national_id", "full_name")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)
