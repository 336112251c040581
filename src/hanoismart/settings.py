"""HanoiSmart settings: one file, read from the environment only (see docs/configuration.md).

The embedded default needs no variable at all: SQLite and huey's SQLite queue under ``var/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from hanoismart.common.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(env_str("HANOISMART_VAR_DIR", str(PROJECT_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
DEMO_MODE = env_bool("HANOISMART_DEMO", False)
_LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _LOOPBACK_HOSTS)
_DEV_SECRET = "insecure-development-key-do-not-use-in-production"  # noqa: S105 - refused below beyond loopback
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET)
if SECRET_KEY == _DEV_SECRET and not set(ALLOWED_HOSTS) <= set(_LOOPBACK_HOSTS):
    # The embedded default serves loopback only; anything reachable from outside needs its own key.
    raise ImproperlyConfigured("SECRET_KEY must be set when ALLOWED_HOSTS names a host beyond loopback.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
PROVINCE_CODE = env_str("HANOISMART_PROVINCE_CODE", "01")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "hanoismart.common.apps.StaticFilesConfig",  # Django's, without unused vendor builds
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "ninja",
    "oauth2_provider",
    "huey.contrib.djhuey",
    "hanoismart.common",
    "hanoismart.audit",
    "hanoismart.directory",
    "hanoismart.identity",
    "hanoismart.notifications",
    "hanoismart.procedures",
    "hanoismart.documents",
    "hanoismart.dossiers",
    "hanoismart.reporting",
    "hanoismart.ioc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "hanoismart.common.middleware.RejectNulCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hanoismart.identity.middleware.StaffSecondFactorMiddleware",
    "hanoismart.identity.middleware.SessionTrackingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "hanoismart.urls"
WSGI_APPLICATION = "hanoismart.wsgi.application"
ASGI_APPLICATION = "hanoismart.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hanoismart.common.context_processors.platform",
                "hanoismart.dossiers.context_processors.desk_link",
                "hanoismart.ioc.context_processors.ioc_link",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL names another (PostgreSQL in production).
# A server connection is kept 60 s by each server thread (WSGI: a thread's requests reuse it): opening one per
# request cost about 40% of a token request's CPU (bench/README.md). SQLite connections are cheap.
_DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'hanoismart.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL,
        conn_max_age=env_int(
            "DATABASE_CONN_MAX_AGE", 0 if _DATABASE_URL.startswith("sqlite") else 60, minimum=0
        ),
        conn_health_checks=True,
    )
}
_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)  # PostgreSQL's, below
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _PREPARED_STATEMENTS:
    # PostgreSQL: values sent apart from the SQL (server-side binding), and a statement a connection has
    # run five times kept prepared there (parsed and planned once): about half the database's CPU per
    # online filing (bench/README.md). `false` behind a transaction-pooling proxy that cannot keep them.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "identity.User"
# django-oauth-toolkit's Application is our app registry; set before its tables are first created.
OAUTH2_PROVIDER_APPLICATION_MODEL = "identity.ClientApp"
AUTHENTICATION_BACKENDS = ["hanoismart.identity.backends.IdentifierBackend"]
LOGIN_URL = "identity:sign_in"
LOGIN_REDIRECT_URL = "identity:account"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    # Django's Argon2 (defaults unchanged), at most PASSWORD_HASH_CONCURRENCY at a time per process.
    "hanoismart.identity.hashers.BoundedArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Apps' client secrets only (long random strings): see identity/hashers.py.
    "hanoismart.identity.hashers.ClientSecretHasher",
]
PASSWORD_HASH_CONCURRENCY = env_int("PASSWORD_HASH_CONCURRENCY", 1, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8, minimum=60)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in protection: lockout grows with each failure past the threshold (per account and per IP).
SIGN_IN_FAILURE_THRESHOLD = env_int("SIGN_IN_FAILURE_THRESHOLD", 5, minimum=1)
SIGN_IN_LOCKOUT_BASE_SECONDS = env_int("SIGN_IN_LOCKOUT_BASE_SECONDS", 60, minimum=1)
SIGN_IN_LOCKOUT_MAX_SECONDS = env_int("SIGN_IN_LOCKOUT_MAX_SECONDS", 60 * 60, minimum=1)
SIGN_IN_IP_FAILURE_THRESHOLD = env_int("SIGN_IN_IP_FAILURE_THRESHOLD", 30, minimum=1)
ONE_TIME_CODE_TTL_SECONDS = env_int("ONE_TIME_CODE_TTL_SECONDS", 300, minimum=30)
OTP_TOTP_ISSUER = "HanoiSmart"
# Our own lockout counts wrong TOTP codes per account and IP; django-otp's extra pauses would only confuse.
OTP_TOTP_THROTTLE_FACTOR = 0

# OpenID Connect provider (django-oauth-toolkit at /o/; docs/sign-in-with-hanoismart.md).
# The signing key: OIDC_RSA_PRIVATE_KEY (PEM) or OIDC_RSA_PRIVATE_KEY_FILE; the embedded default makes a
# development key under var/ on first start. Rotation: publish the new key as OIDC_RSA_PRIVATE_KEYS_PREVIOUS
# first is not possible (the current key signs), so move the old key to OIDC_RSA_PRIVATE_KEYS_PREVIOUS when
# the new one becomes current, and keep it there until the last token it signed has expired.
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


def _development_signing_key() -> str:
    """A 2048-bit RSA key kept under var/, made on first use (embedded default and tests only)."""
    path = VAR_DIR / "oidc-dev-signing-key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        temporary.replace(path)  # atomic: concurrent first starts agree on one key
    return path.read_text(encoding="utf-8")


OIDC_RSA_PRIVATE_KEY = env_str("OIDC_RSA_PRIVATE_KEY", "")
if not OIDC_RSA_PRIVATE_KEY:
    if not set(ALLOWED_HOSTS) <= set(_LOOPBACK_HOSTS):
        raise ImproperlyConfigured(
            "OIDC_RSA_PRIVATE_KEY (or OIDC_RSA_PRIVATE_KEY_FILE) must be set when ALLOWED_HOSTS names a host "
            "beyond loopback."
        )
    OIDC_RSA_PRIVATE_KEY = _development_signing_key()
OIDC_RSA_PRIVATE_KEYS_PREVIOUS = _PEM_BLOCK.findall(env_str("OIDC_RSA_PRIVATE_KEYS_PREVIOUS", ""))
# The key of pairwise subject identifiers: changing it changes every app's "sub" for every person.
OIDC_PAIRWISE_SECRET = env_str("OIDC_PAIRWISE_SECRET", SECRET_KEY)
OIDC_ISSUER = env_str("OIDC_ISSUER", "")
OIDC_TOKEN_RATE_LIMIT = env_int("OIDC_TOKEN_RATE_LIMIT", 600, minimum=1)
OIDC_AUTHORIZE_RATE_LIMIT = env_int("OIDC_AUTHORIZE_RATE_LIMIT", 60, minimum=1)
OIDC_SCOPES = {
    "openid": _("Your HanoiSmart identifier for this app"),
    "profile": _("Your full name and date of birth"),
    "phone": _("Your mobile phone number"),
    "email": _("Your email address"),
    "address": _("Your ward or commune of residence"),
    "hanoismart:national_id": _("Your national ID number (CCCD)"),
    "dossiers.read": _("Read your dossiers and their progress"),
    "dossiers.write": _("Submit and update dossiers on your behalf"),
    "documents.read": _("Read the papers in your document store"),
    "introspection": _("Check whether access tokens are valid (agency systems)"),
}
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": OIDC_RSA_PRIVATE_KEYS_PREVIOUS,
    "OIDC_ISS_ENDPOINT": OIDC_ISSUER,
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise", "public"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OAUTH2_VALIDATOR_CLASS": "hanoismart.identity.oidc_provider.HanoiSmartValidator",
    "SCOPES": OIDC_SCOPES,
    "DEFAULT_SCOPES": ["openid"],
    "CLIENT_SECRET_HASHER": "hanoismart_secret_sha256",
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OIDC_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OIDC_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600, minimum=60),
    # 256 random bits per token, secrets.token_urlsafe (oauthlib's default: 179 bits, one call per character).
    "ACCESS_TOKEN_GENERATOR": "hanoismart.identity.token_path.token_generate",
    "REFRESH_TOKEN_GENERATOR": "hanoismart.identity.token_path.token_generate",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http on loopback only: ClientApp.clean()
    "REQUEST_APPROVAL_PROMPT": "auto",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
}
# The rate limiter of the token and authorize endpoints counts in this cache. LocMem counts per process, so
# with N web workers the effective limit is up to N times the setting (acceptable for a coarse flood guard).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "hanoismart"}}

# National population database: "simulator" (a local table) until the real adapter is configured.
POPULATION_REGISTRY = env_choice("POPULATION_REGISTRY", "simulator", ("simulator",))

# Internationalisation: Vietnamese first, English second.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# Working time (common.calendar): Hanoi's office hours, "HH:MM-HH:MM" blocks.
OFFICE_HOURS = env_list("OFFICE_HOURS", ["08:00-12:00", "13:00-17:00"])

# Static and media files.
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    ("vendor/bootstrap", PROJECT_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", PROJECT_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/htmx", PROJECT_DIR / "node_modules/htmx.org/dist"),
    ("vendor/echarts", PROJECT_DIR / "node_modules/echarts/dist"),
    ("vendor/leaflet", PROJECT_DIR / "node_modules/leaflet/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# The IOC's map (Leaflet): the tile server's URL template and the credit its licence asks for. The default is
# OpenStreetMap's public server (fine for a demo; production should use the city's own or a paid provider).
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str(
    "MAP_TILE_ATTRIBUTION", '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
)

# Background jobs: huey on SQLite under var/ (HUEY_IMMEDIATE runs tasks in-process, as the tests do).
HUEY = {
    # SQLite in WAL mode without an fsync per task (hanoismart/tasks_queue.py says why it is safe).
    "huey_class": "hanoismart.tasks_queue.EmbeddedHuey",
    "name": "hanoismart",
    # No task's return value is read: keeping them would write the queue file once more per task, for ever.
    "results": False,
    "filename": str(VAR_DIR / "huey.sqlite3"),
    "immediate": env_bool("HUEY_IMMEDIATE", False),
    "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
}

# Notifications: email through Django's backends; SMS/Zalo through a webhook, or the console in the demo.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A bounded wait, so a hung SMTP server cannot outlive a delivery claim and cause a second send.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "HanoiSmart <no-reply@hanoismart.local>")
SMS_GATEWAY = env_choice("SMS_GATEWAY", "console", ("console", "webhook"))
SMS_WEBHOOK_URL = env_str("SMS_WEBHOOK_URL", "")
ZALO_WEBHOOK_URL = env_str("ZALO_WEBHOOK_URL", "")
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 6, minimum=1)

# Dossiers: the payment gateway and the national public service portal, as dotted paths of adapters
# (the defaults are the demo's simulators); sync messages are retried with backoff up to the limit.
PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", "hanoismart.dossiers.services.payments.SimulatorGateway")
NATIONAL_PORTAL_ADAPTER = env_str(
    "NATIONAL_PORTAL_ADAPTER", "hanoismart.dossiers.services.portal.SimulatorPortal"
)
NATIONAL_PORTAL_MAX_ATTEMPTS = env_int("NATIONAL_PORTAL_MAX_ATTEMPTS", 10, minimum=1)

# Documents: the font of rendered PDFs (Vietnamese needs a Unicode font) and the keys that sign results.
# "development" makes a development CA and a key per agency under SIGNING_DIR on first use (never for a real
# deployment); "files" reads each agency's key and certificate from SIGNING_DIR (<agency code>.key.pem and
# <agency code>.cert.pem); "pkcs11" signs inside an HSM. See docs/documents.md.
PDF_FONT_REGULAR = env_str("PDF_FONT_REGULAR", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
PDF_FONT_BOLD = env_str("PDF_FONT_BOLD", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf")
SIGNING_MODE = env_choice("SIGNING_MODE", "development", ("development", "files", "pkcs11"))
SIGNING_DIR = Path(env_str("SIGNING_DIR", str(VAR_DIR / "signing")))
# PEM files of the CA certificates /verify trusts (comma-separated); empty in development: the development CA.
SIGNING_TRUST_ROOTS = env_list("SIGNING_TRUST_ROOTS", [])
SIGNING_PKCS11_MODULE = env_str("SIGNING_PKCS11_MODULE", "")
SIGNING_PKCS11_TOKEN_LABEL = env_str("SIGNING_PKCS11_TOKEN_LABEL", "")
SIGNING_PKCS11_PIN = env_str("SIGNING_PKCS11_PIN", "")
# Shared links to a document expire after at most this many days.
DOCUMENT_SHARE_MAX_DAYS = env_int("DOCUMENT_SHARE_MAX_DAYS", 90, minimum=1)
# The largest file an owner may upload to their store.
DOCUMENT_UPLOAD_MAX_BYTES = env_int("DOCUMENT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "hanoismart.common.views.csrf_failure"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # huey's run_huey adds a handler of its own to a "huey" logger that has none: every line came out twice.
    "loggers": {"huey": {"handlers": ["console"], "propagate": False}},
}

# Wiring, not configuration: identity sends codes to people through the notifications outbox, which sits above
# it in the app layers (DESIGN.md), so it reaches the sender by name instead of importing it.
USER_MESSAGE_SENDER = "hanoismart.notifications.services.message_send"
