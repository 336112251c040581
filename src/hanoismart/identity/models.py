"""HanoiSmart ID: one account per person, organisations, staff positions, and sign-in protection."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
