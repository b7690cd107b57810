"""Settings for homevisits, read from the environment.

Defaults run a developer's machine with nothing but Python (SQLite and a filesystem broker);
DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis, as in production and CI.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Where `make run` keeps its database, broker, cache and files (VAR_DIR: another copy, e.g. the
# soak benchmark's, beside the developer's own).
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def envbool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def envchoice(name, default, choices):
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envlist(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for a development machine).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "guardian",
    "import_export",
    "django_htmx",
    "phonenumber_field",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.google",
    "axes",
    "csp",
    "pgtrigger",
    "accounts",
    "audit",
    "schools",
    "visits",
    "notifications",
    "safeguarding",
    "escalation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Control and bidi-override characters out of every form field, and a bound on its length.
    "homevisits.cleaning.CleanInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Signed out after SESSION_IDLE_MINUTES without a request (the live board keeps itself in).
    "accounts.idle.IdleTimeoutMiddleware",
    # Seniors and admins reach nothing but enrolment until they have a second factor.
    "accounts.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # No copy of a page with personal data kept by the browser or a proxy.
    "homevisits.browser_policy.NoStoreMiddleware",
    # Who opened which visit, police sheet, schedule, pupil and file (audit/).
    "audit.middleware.AccessLogMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "homevisits.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "schools.context_processors.roles",
                "safeguarding.context_processors.records",
                "escalation.context_processors.live_alerts",
                "visits.context_processors.authorisations",
                "audit.context_processors.audit_menu",
            ],
        },
    },
]

WSGI_APPLICATION = "homevisits.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=envint("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Nothing may hold the overdue watch for long: a lock waited for, a statement, or a
    # transaction left open by a stalled request is cut off after these (milliseconds; 0: no
    # limit). The sweep skips locked visits, so it never waits; these bound everything else.
    _timeouts = {
        "lock_timeout": envint("DB_LOCK_TIMEOUT_MS", 5_000),
        "statement_timeout": envint("DB_STATEMENT_TIMEOUT_MS", 30_000),
        "idle_in_transaction_session_timeout": envint("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000),
    }
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(
        f"-c {name}={value}" for name, value in _timeouts.items()
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run` writes from the web server, the worker and beat at once: wait for the lock
    # rather than fail, and take it at the start of a transaction so two writers never deadlock.
    # Write-ahead logging: readers (the board, the sweep's scan) never block the one writer,
    # nor it them, so a write waits only for another write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: a locked account is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user is not needed: every page needs a login.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Accounts (accounts/): django-allauth. Accounts are made by the school, never by sign-up;
# people sign in with their username or email; a second factor (an authenticator app, a passkey,
# recovery codes) is required for the roles that read safeguarding records or give roles.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
# allauth's own throttles, by address; the lockout by username is django-axes's (below).
# The per-account limit sits above axes's lockout, so the lockout page (and an unlock) decides.
ACCOUNT_RATE_LIMITS = {"login_failed": "20/m/ip,10/5m/key", "reset_password": "5/m/ip,3/m/key"}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "homevisits")
# Passkeys need HTTPS, except on a developer's own machine.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# Sign-in through the school's own directory, so a leaver disabled by the school's IT loses
# access here too: set the client id and secret of the app registered there (empty: not offered).
SOCIALACCOUNT_PROVIDERS = {}
if os.environ.get("MICROSOFT_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["microsoft"] = {
        "APPS": [
            {
                "client_id": os.environ["MICROSOFT_CLIENT_ID"],
                "secret": os.environ.get("MICROSOFT_CLIENT_SECRET", ""),
                "settings": {"tenant": os.environ.get("MICROSOFT_TENANT", "organizations")},
            }
        ]
    }
if os.environ.get("GOOGLE_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [
            {
                "client_id": os.environ["GOOGLE_CLIENT_ID"],
                "secret": os.environ.get("GOOGLE_CLIENT_SECRET", ""),
            }
        ],
        "SCOPE": ["profile", "email"],
    }
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_ONLY = False

# Lockout (django-axes): by username, never by address, as a school's staff share one public
# address; after AXES_FAILURE_LIMIT failures in a row the account waits AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = envint("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = AXES_COOLOFF_MINUTES / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"
# allauth hands authenticate() username= or email=, never login=: this finds the account either
# way, so an email and a username lock the same account.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_TEMPLATE = "account/locked.html"
AXES_VERBOSE = False
# axes warns that a lockout by username alone can be dodged by changing address; that is the
# point here (one school, one public address), and allauth throttles by address as well.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Sessions on shared devices: signed out after this long idle, after a warning in the page; the
# live board, while open, is exempt so an alert is never missed (accounts/idle.py).
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", 30)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Phone numbers (schools/phones.py): typed the UK's way, kept as E.164, shown in UK form.
PHONENUMBER_DEFAULT_REGION = "GB"
PHONENUMBER_DEFAULT_FORMAT = "E164"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# The healthchecks of the production stack ask over plain HTTP, inside it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Lets the site's owner submit it to the browsers' HTTPS-only list (nothing is submitted here).
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Tablets are shared in school offices: a session ends after a working day, not two weeks.
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 10 * 60 * 60)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere; a script the
# server writes into a page carries the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # The nonce is written only into pages that use one (django-csp leaves it out else).
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The phone's position is asked for by this site only (check-ins); nothing else of the device.
PERMISSIONS_POLICY = {
    "geolocation": ["self"],
    "camera": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
}

# CSV exports hold pupils' and carers' free text: never let a cell run as a spreadsheet formula.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# Append-only tables (audit/): PostgreSQL's own triggers refuse an UPDATE or DELETE on every
# timeline and audit table; they are installed by `migrate`, not written into other apps'
# migrations.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True

# What one account can cause to be sent (django-ratelimit): concerns, alerts raised by hand,
# test alerts, resets. Counted in the cache; per person, not per address.
RATELIMIT_ENABLE = envbool("RATELIMIT_ENABLE", True)
RATELIMIT_VIEW = "homevisits.views.ratelimited"
SENDING_RATE = os.environ.get("SENDING_RATE", "30/h")

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport, which needs no
# server, so `make run` works on a machine with only Python.
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's own, with each message written whole before a worker can see it (broker.py).
    CELERY_BROKER_TRANSPORT = "homevisits.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
# A cache every process shares (rate limits, allauth's throttles): Redis when there is one, else
# files under var/ (the web server, the worker and beat of `make run` see the same counts).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL") or REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Reconnect to the broker every second, not on kombu's growing back-off (2, 4, ... 30 s): the
# watch resumes within a sweep period of Redis answering again (homevisits/celery.py).
CELERY_WORKER_CONSUMER = "homevisits.celery:Consumer"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Two queues: "celery" for the watch (the sweep) and the rest, "outbox" for sending messages,
# so a sweep never waits behind a slow gateway. Production runs a worker for each (-Q); a worker
# started without -Q takes both, so no message is ever left without a sender.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {}, "outbox": {}}
CELERY_TASK_ROUTES = {"notifications.tasks.notifications_deliver": {"queue": "outbox"}}
# The overdue sweep (escalation/tasks.py): the database is scanned every few seconds, so a lost
# task or a restarted worker delays an alert by one period at most. Expired runs are dropped
# rather than queued behind each other after an outage.
ESCALATION_SWEEP_SECONDS = envint("ESCALATION_SWEEP_SECONDS", 2)
# Every send is bounded: a gateway that hangs holds one sender thread this long at most.
OUTBOX_SEND_TIMEOUT = envint("OUTBOX_SEND_TIMEOUT", 5)
# A message that cannot be sent is retried (1, 2, 4, then every 8 s) for this long, then marked
# failed; by then the alert has repeated or moved on to other people.
OUTBOX_GIVE_UP_SECONDS = envint("OUTBOX_GIVE_UP_SECONDS", 3600)
# Senders per channel with messages due, each a thread of the sender task holding a database
# connection while it sends. 1,000 visits due in one minute means 2,000 texts a minute; at 200 ms
# a request plus the claim and the record of each, 8 threads reached the gateway within 12.1 s
# (p99) and 16 within 4.4 s (bench/escalation_latency.py, 2026-12-02). SQLite takes one writer
# at a time, so one there.
OUTBOX_THREADS_PER_CHANNEL = envint(
    "OUTBOX_THREADS_PER_CHANNEL",
    1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 16,
)
# Time limits on every task: a soft limit raises in the task, a hard one replaces the process.
# The sweep stops itself after two periods and a send after its timeout; these are backstops.
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
CELERY_TASK_ANNOTATIONS = {
    "escalation.tasks.escalation_sweep": {
        "soft_time_limit": 2 * ESCALATION_SWEEP_SECONDS + 10,
        "time_limit": 2 * ESCALATION_SWEEP_SECONDS + 20,
    },
    "notifications.tasks.notifications_deliver": {
        "soft_time_limit": ESCALATION_SWEEP_SECONDS + 2 * OUTBOX_SEND_TIMEOUT + 10,
        "time_limit": ESCALATION_SWEEP_SECONDS + 2 * OUTBOX_SEND_TIMEOUT + 20,
    },
}
CELERY_BEAT_SCHEDULER = "homevisits.celery:HeartbeatScheduler"
CELERY_BEAT_SCHEDULE = {
    "escalation-sweep": {
        "task": "escalation.tasks.escalation_sweep",
        "schedule": float(ESCALATION_SWEEP_SECONDS),
        "options": {"expires": 4 * ESCALATION_SWEEP_SECONDS},
    },
    "notifications-deliver": {
        "task": "notifications.tasks.notifications_deliver",
        "schedule": float(ESCALATION_SWEEP_SECONDS),
        "options": {"expires": 2 * ESCALATION_SWEEP_SECONDS},
    },
    # A7 reminders (safeguarding/tasks.py): late minutes, overdue actions, missing debriefs.
    # Safe to run often: each reminder's outbox key names the day, so it is sent once a day.
    # The retention schedule (safeguarding/retention.py): once a night, a report first.
    "records-retention": {
        "task": "safeguarding.tasks.records_retention",
        "schedule": 24 * 60 * 60.0,
        "options": {"expires": 60 * 60},
    },
    "records-remind": {
        "task": "safeguarding.tasks.records_remind",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
}
# Who watches the watcher: the workers and beat write heartbeats this often; /healthz and the
# board call them down after HEARTBEAT_STALE_SECONDS of silence.
HEARTBEAT_SECONDS = envint("HEARTBEAT_SECONDS", 10)
HEARTBEAT_STALE_SECONDS = envint("HEARTBEAT_STALE_SECONDS", 60)

# Messages (notifications/): the transport that sends each channel. SMS through GOV.UK Notify
# (SMS_PROVIDER=notify) or Twilio (twilio); phone calls through Twilio (VOICE_PROVIDER=twilio);
# email through Django's email backend when one is set (EMAIL_BACKEND); push through Web Push
# when VAPID keys are set. Whatever is not set up goes to the log.
SMS_PROVIDER = envchoice("SMS_PROVIDER", "log", ("log", "notify", "twilio"))
VOICE_PROVIDER = envchoice("VOICE_PROVIDER", "log", ("log", "twilio"))
NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY", "")
NOTIFY_SMS_TEMPLATE_ID = os.environ.get("NOTIFY_SMS_TEMPLATE_ID", "")
NOTIFY_BASE_URL = os.environ.get("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
# The bearer token given to Notify with the delivery-status callback URL (empty: none taken).
NOTIFY_CALLBACK_TOKEN = os.environ.get("NOTIFY_CALLBACK_TOKEN", "")
if SMS_PROVIDER == "notify" and not (NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID):
    raise ImproperlyConfigured(
        "SMS_PROVIDER=notify needs NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID."
    )
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
# Empty: Twilio's own API; set it to point the official client at a staging or fake gateway.
TWILIO_BASE_URL = os.environ.get("TWILIO_BASE_URL", "").rstrip("/")
if "twilio" in (SMS_PROVIDER, VOICE_PROVIDER) and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM
):
    raise ImproperlyConfigured(
        "SMS_PROVIDER=twilio or VOICE_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, "
        "TWILIO_AUTH_TOKEN and TWILIO_FROM."
    )
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = os.environ.get(
    "VAPID_SUBJECT", "mailto:" + os.environ.get("DEFAULT_FROM_EMAIL", "homevisits@localhost")
)
# The browsers' push services the server may post to (a subscription naming another host is
# refused: the server must not post where a signed-in person chooses). Loopback only for the
# fakes: with DEBUG, or PUSH_ALLOW_LOOPBACK=true (the tests).
PUSH_SERVICE_HOSTS = envlist(
    "PUSH_SERVICE_HOSTS",
    [
        "fcm.googleapis.com",
        "push.services.mozilla.com",
        "notify.windows.com",
        "push.apple.com",
    ],
)
PUSH_ALLOW_LOOPBACK = envbool("PUSH_ALLOW_LOOPBACK", False)
# Email: an SMTP server as one URL (smtp://user:password@smtp.example.org:587/?tls=True), or any
# Django email backend by name (EMAIL_BACKEND, e.g. an anymail provider's). Neither: the log.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    import dj_email_url

    try:
        globals().update(dj_email_url.parse(EMAIL_URL))
    except Exception as exc:
        raise ImproperlyConfigured(f"EMAIL_URL could not be read: {exc}") from exc
elif os.environ.get("EMAIL_BACKEND"):
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = OUTBOX_SEND_TIMEOUT
_LOG = "notifications.log.transport.LogTransport"
NOTIFICATION_TRANSPORTS = {
    "email": "notifications.email.transport.EmailTransport"
    if EMAIL_URL or os.environ.get("EMAIL_BACKEND")
    else _LOG,
    "sms": {
        "log": _LOG,
        "notify": "notifications.notify.transport.NotifySMSTransport",
        "twilio": "notifications.twilio.transport.TwilioSMSTransport",
    }[SMS_PROVIDER],
    "voice": {"log": _LOG, "twilio": "notifications.twilio.transport.TwilioVoiceTransport"}[
        VOICE_PROVIDER
    ],
    "push": "notifications.push.transport.WebPushTransport"
    if VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY
    else _LOG,
}
# The demo's inbox of what its fake gateways were given (make run sets it; empty: no demo page).
DEMO_INBOX_URL = os.environ.get("DEMO_INBOX_URL", "")
# Links in notifications point here.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "homevisits@localhost")

# Errors reach the maintainers when SENTRY_DSN is set (sentry-sdk, Django and Celery), with
# personal data scrubbed before anything leaves (homevisits/sentry.py).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from homevisits.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "homevisits.logging.RedactPersonalData"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # The sweep runs every few seconds: its receipts would bury what matters (alerts, errors).
    "loggers": {
        **{
            name: {"level": os.environ.get("CELERY_TASK_LOG_LEVEL", "WARNING")}
            for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat")
        },
        # Twilio's client logs every request at INFO; nothing of it is needed day to day.
        "twilio.http_client": {"level": "WARNING"},
    },
}
