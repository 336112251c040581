"""HanoiSmart ID: one account per person, organisations, staff positions, and sign-in protection."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication

from hanoismart.common.text import fold
from hanoismart.common.validators import validate_national_id, validate_phone, validate_tax_code


class AssuranceLevel(models.IntegerChoices):
    """Mirrors VNeID's levels: 0 self-registered, 1 and 2 verified against the population database."""

    SELF_REGISTERED = 0, _("Level 0: self-registered")
    LEVEL_1 = 1, _("Level 1: verified identity")
    LEVEL_2 = 2, _("Level 2: verified identity and face")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, national_id: str, password: str | None = None, **fields):
        user = self.model(national_id=national_id, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, national_id: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(national_id, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person's HanoiSmart account, identified by their 12-digit national ID number (CCCD)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    national_id = models.CharField(
        _("national ID number"), max_length=12, unique=True, validators=[validate_national_id]
    )
    phone = models.CharField(
        _("mobile phone"), max_length=10, unique=True, null=True, blank=True, validators=[validate_phone]
    )
    email = models.EmailField(_("email"), unique=True, null=True, blank=True)
    full_name = models.CharField(_("full name"), max_length=150)
    # The name without diacritics, lower-cased, so staff can search "nguyen van an" (kept in sync in save()).
    full_name_folded = models.CharField(max_length=150, db_index=True, editable=False, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    ward = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("ward/commune of residence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assurance_level = models.PositiveSmallIntegerField(
        _("assurance level"), choices=AssuranceLevel.choices, default=AssuranceLevel.SELF_REGISTERED
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_method = models.CharField(_("verified by"), max_length=60, blank=True)
    preferred_language = models.CharField(_("language"), max_length=5, default="vi")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("operator site access"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "national_id"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(condition=Q(assurance_level__in=(0, 1, 2)), name="user_assurance_level"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.national_id

    def save(self, *args, **kwargs):
        self.full_name_folded = fold(self.full_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "full_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "full_name_folded"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split()[-1] if self.full_name else self.national_id

    @property
    def masked_national_id(self) -> str:
        """The CCCD with the middle hidden, for pages that only need to recognise it."""
        return f"{self.national_id[:3]}******{self.national_id[-3:]}"


class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    HOUSEHOLD_BUSINESS = "household_business", _("Household business")
    ASSOCIATION = "association", _("Association")
    COOPERATIVE = "cooperative", _("Cooperative")


class Organisation(models.Model):
    """A business, household business, cooperative or association, identified by its tax code (MST)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tax_code = models.CharField(_("tax code"), max_length=14, unique=True, validators=[validate_tax_code])
    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=30, choices=OrganisationKind.choices)
    address = models.CharField(_("address"), max_length=255, blank=True)
    ward = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("ward/commune"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(User, through="Membership", related_name="organisations")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class MembershipRole(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    AUTHORISED = "authorised", _("Authorised to act")


class Membership(models.Model):
    """A person acting for an organisation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=MembershipRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.organisation}"


class StaffRole(models.TextChoices):
    CLERK = "clerk", _("One-stop desk clerk")
    OFFICER = "officer", _("Processing officer")
    LEADER = "leader", _("Unit leader")
    REPORTER = "reporter", _("Reporting officer")
    MANAGER = "manager", _("City manager")
    OPERATOR = "operator", _("Operator")


class StaffPosition(models.Model):
    """A role a person holds in an agency; they serve its unit (and, for the city, every unit in it)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="positions")
    role = models.CharField(_("role"), max_length=20, choices=StaffRole.choices)
    agency = models.ForeignKey("directory.Agency", verbose_name=_("agency"), on_delete=models.PROTECT)
    title = models.CharField(_("title"), max_length=120, blank=True)
    valid_from = models.DateField(_("from"), default=timezone.localdate)
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff position")
        verbose_name_plural = _("staff positions")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "agency", "valid_from"], name="position_unique"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="position_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.agency}"


class RegistryCitizen(models.Model):
    """The local simulator of the national population database: a seeded table of residents.

    The demo and the tests verify accounts against it through the same adapter interface the real
    registry connection would use.
    """

    national_id = models.CharField(max_length=12, unique=True)
    full_name = models.CharField(max_length=150)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=6, choices=[("male", _("Male")), ("female", _("Female"))])
    ward_code = models.CharField(max_length=10, blank=True)
    level = models.PositiveSmallIntegerField(default=AssuranceLevel.LEVEL_2)

    class Meta:
        verbose_name = _("population registry record (simulator)")
        verbose_name_plural = _("population registry records (simulator)")

    def __str__(self) -> str:
        return f"{self.national_id} {self.full_name}"


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", _("Account")
    IP = "ip", _("IP address")


class SignInThrottle(models.Model):
    """Failed sign-ins counted per account and per IP; past a threshold each failure locks for longer."""

    scope = models.CharField(max_length=10, choices=ThrottleScope.choices)
    key = models.CharField(max_length=100)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="throttle_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"


class CodePurpose(models.TextChoices):
    SIGN_IN = "sign_in", _("Sign in")
    PASSWORD_RESET = "password_reset", _("Password reset")


class OneTimeCode(models.Model):
    """A 6-digit code sent to a phone (stored hashed), for sign-in or password reset."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=20, choices=CodePurpose.choices)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "-created_at"], name="otc_user_purpose")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose} {self.created_at:%H:%M}"


class UserSession(models.Model):
    """A signed-in device, so the account page can list sessions and sign out the others."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.user_agent[:40]}"


# ----------------------------------------------------------------------------------------------------
# OpenID Connect provider: the app registry, per-item consent and the history of data released to apps.
# ----------------------------------------------------------------------------------------------------


class ClientAppStatus(models.TextChoices):
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class ClientApp(AbstractApplication):
    """An app registered to sign residents in with HanoiSmart (django-oauth-toolkit's swappable Application).

    Only approved apps may authorise or get tokens; agency apps see the resident's public ID as ``sub``,
    every other app a pairwise identifier of its own.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Every app gets RS256-signed ID tokens (the provider's keys, published in the JWKS).
    algorithm = models.CharField(
        _("algorithm"),
        max_length=5,
        choices=AbstractApplication.ALGORITHM_TYPES,
        default=AbstractApplication.RS256_ALGORITHM,
        blank=True,
    )
    description = models.TextField(_("description"), blank=True)
    logo_url = models.URLField(_("logo URL"), blank=True)
    privacy_policy_url = models.URLField(_("privacy policy URL"), blank=True)
    # The registering person; empty for the apps the city itself registers (seeded demo apps).
    owner = models.ForeignKey(
        User,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="client_apps",
    )
    owner_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="client_apps",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ClientAppStatus.choices, default=ClientAppStatus.IN_REVIEW
    )
    review_reason = models.TextField(_("review reason"), blank=True)
    reviewed_by = models.ForeignKey(
        User,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    is_city_agency = models.BooleanField(_("city agency"), default=False)
    min_assurance_level = models.PositiveSmallIntegerField(
        _("minimum assurance level"), choices=AssuranceLevel.choices, default=AssuranceLevel.SELF_REGISTERED
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = _("app")
        verbose_name_plural = _("apps")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=("in_review", "approved", "rejected", "suspended")),
                name="clientapp_status",
            ),
            models.CheckConstraint(
                condition=Q(min_assurance_level__in=(0, 1, 2)), name="clientapp_min_level"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.client_id

    @property
    def is_approved(self) -> bool:
        return self.status == ClientAppStatus.APPROVED

    def is_usable(self, request) -> bool:
        """django-oauth-toolkit asks this before authorising, issuing or accepting a token: approved only."""
        return self.is_approved

    def get_allowed_schemes(self) -> list[str]:
        # http is allowed for loopback only; clean() refuses it anywhere else.
        return ["https", "http"]

    def clean(self) -> None:
        """Redirect URIs must be absolute, without fragment, and https unless on a loopback address."""
        from django.core.exceptions import ValidationError

        from hanoismart.identity.redirect_uris import redirect_uri_problems

        problems = [p for uri in self.redirect_uris.split() for p in redirect_uri_problems(uri)]
        problems += [p for uri in self.post_logout_redirect_uris.split() for p in redirect_uri_problems(uri)]
        errors: dict[str, list] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if problems:
            errors.setdefault("redirect_uris", []).extend(problems)
        if errors:
            raise ValidationError(errors)


class ClientScope(models.Model):
    """A scope an app may ask for, and the purpose it states to the resident on the consent screen."""

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="client_scopes")
    scope = models.CharField(_("scope"), max_length=64)
    purpose = models.TextField(_("purpose"))
    is_optional = models.BooleanField(_("optional"), default=False)

    class Meta:
        verbose_name = _("app scope")
        verbose_name_plural = _("app scopes")
        constraints = [models.UniqueConstraint(fields=["app", "scope"], name="clientscope_unique")]

    def __str__(self) -> str:
        return f"{self.app_id}:{self.scope}"


class Consent(models.Model):
    """A resident's decision on one data item (scope) for one app, remembered until revoked."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oidc_consents")
    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="consents")
    scope = models.CharField(_("scope"), max_length=64)
    granted = models.BooleanField(_("granted"))
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["user", "app", "scope"], name="consent_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.app_id} {self.scope} {'+' if self.granted else '-'}"

    @property
    def is_active(self) -> bool:
        return self.granted and self.revoked_at is None


class ReleaseChannel(models.TextChoices):
    ID_TOKEN = "id_token", _("ID token")
    USERINFO = "userinfo", _("Userinfo")
    TOKEN = "token", _("Access token")


class DataRelease(models.Model):
    """One time an app received a person's data: which scopes (and claims), when, through which channel."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_releases")
    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="data_releases")
    scopes = models.JSONField(_("scopes"), default=list)
    claims = models.JSONField(_("claims"), default=list)
    released_at = models.DateTimeField(_("released at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=10, choices=ReleaseChannel.choices)

    class Meta:
        ordering = ["-released_at"]
        verbose_name = _("data release")
        verbose_name_plural = _("data releases")
        indexes = [models.Index(fields=["user", "app", "-released_at"], name="datarelease_user_app")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.app_id} {self.channel} {self.released_at:%Y-%m-%d %H:%M}"
