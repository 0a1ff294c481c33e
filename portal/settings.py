"""Flowgate settings, driven by the environment (django-environ).

Three modes, chosen by DJANGO_ENV:
- ``development`` (default): embedded mode. SQLite + a filesystem Celery broker under ``var/``
  unless DATABASE_URL / REDIS_URL are set. Demo data allowed.
- ``test``: like development, for pytest.
- ``production``: refuses to start without SECRET_KEY, ALLOWED_HOSTS and a non-SQLite DATABASE_URL.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("FLOWGATE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"
TESTING = DJANGO_ENV == "test"

# --- core -------------------------------------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Production needs SECRET_KEY (at least 50 random characters).")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs ALLOWED_HOSTS (comma-separated host names).")
    DEBUG = False
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="flowgate-embedded-insecure-key-not-for-production-use-0000"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    # Off unless asked for (DEBUG=true): `make run` shows the portal's own error pages, not
    # Django's technical 404/500 and debug CSRF page. Static files are served by WhiteNoise
    # (from the finders outside production) either way.
    DEBUG = env.bool("DEBUG", default=False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc served from our static files, no CDN
    "guardian",
    "axes",
    "csp",
    "channels",
    "apps.common",
    "apps.accounts",
    "apps.audit",
    "apps.calendars",
    "apps.processes",
    "apps.engine",
    "apps.inbox",
    "apps.designer",
    "apps.connectors",
    "apps.reports",
    "apps.retention",
    "apps.invariants",
    "apps.demo",
]

MIDDLEWARE = [
    # First: X-Forwarded-* count only from TRUSTED_PROXIES (apps/common/proxies.py).
    "apps.common.middleware.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.common.middleware.RequestIdMiddleware",
    # An incoming W3C traceparent becomes the current trace (decision 029).
    "apps.common.middleware.TraceContextMiddleware",
    # A full disk or an unreachable database: a 507/503 page, not a 500 (apps/common/outages.py).
    "apps.common.outages.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The reader's time zone (the browser's, in a cookie): dates shown and read in it.
    "apps.common.timezones.ReaderTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.common.middleware.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "apps.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
# An empty DATABASE_URL (as in `DATABASE_URL= make ...`) means the embedded SQLite default too.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'flowgate.sqlite3'}"
    ),
}
DB_VENDOR = "sqlite" if DATABASES["default"]["ENGINE"].endswith("sqlite3") else "postgresql"
if PRODUCTION and DB_VENDOR == "sqlite":
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL, not SQLite.")
if DB_VENDOR == "sqlite":
    # Workers and the web process share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # The report facts' covering indexes (INCLUDE columns) are a PostgreSQL optimisation; SQLite
    # builds the same indexes without the extra columns, which is all the embedded mode needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel developers / CI jobs can isolate their test databases.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses a locked-out username+address before the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The suite makes thousands of users: PBKDF2 (0.25 s each) was most of tests/inbox' time. Only
# DJANGO_ENV=test uses MD5; tests/accounts puts the real hashers back for the tests of sign-in.
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
# Login brute force: django-axes (docs/security.md). LOGIN_FAILURE_LIMIT failed sign-ins for one
# username from one address lock that pair out for LOGIN_FAILURE_WINDOW_SECONDS; other users and
# the same user from elsewhere are not locked. Attempts are rows (axes' database handler), so every
# web process sees them; a successful sign-in clears the pair's failures.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=300)
# Off under tests by default (Django's test Client.login() authenticates without a request, which
# axes refuses); tests/accounts/test_login.py and tests/security turn it on.
AXES_ENABLED = env.bool("AXES_ENABLED", default=not TESTING)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.login_locked_out"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# REMOTE_ADDR is the client: behind a proxy listed in TRUSTED_PROXIES, ForwardedHeadersMiddleware
# has already put the forwarded client address there; nobody else's X-Forwarded-For counts.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Addresses or networks of the reverse proxies in front of Flowgate (comma-separated, e.g.
# "10.0.0.5,172.18.0.0/16"). Only their X-Forwarded-For/-Proto/-Host are believed (client address
# for the audit trail, login lockout, /metrics; https behind a TLS proxy). Empty: none.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network (like 10.0.0.5 or "
            "10.0.0.0/24)."
        ) from None

# --- i18n / static ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static" / "dist"] if (BASE_DIR / "static" / "dist").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION  # embedded mode: serve static/ without collectstatic
# Embedded and development: re-read files on each request, so an `npm run build` while the portal
# runs serves the new bundle (WhiteNoise otherwise keeps the sizes it saw at start-up and answers
# "Response content longer than Content-Length"). Production serves collected, immutable files.
WHITENOISE_AUTOREFRESH = not PRODUCTION
# Files served at the site root by WhiteNoise: /favicon.ico (browsers ask for it on every page).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns when its root is missing
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- security (docs/security.md) ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; keep default
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "apps.common.api_errors.csrf_failure"  # the portal's page, also with DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4): everything from our own origin, no inline script, no
# CDN, no inline style element. Inline style *attributes* only with these exact values: the ones
# bpmn-js, its properties panel and dmn-js put in HTML strings (tests/security/test_headers.py scans the
# built bundles and fails naming any new one; print them with
# `python -m tests.security.csp_hashes`). Styles set through element.style are not inline.
STYLE_ATTRIBUTE_HASHES = [
    "'sha256-nR5hyLltSjfvi2rqC26RbcredWrJvTaPA1yqPX96jpY='",  # height: 100%
    "'sha256-YYsquP+xqomqgdAIk5J+Ecd2u1EqIWPCaE4ltXAtPYE='",  # align icons (four below)
    "'sha256-yCTUeVKU6CD7LMSHPoB5JSg4Cl/BZ8jCyNCepX770PY='",
    "'sha256-d2xoiruNEGKe7tm8eQYZ4wZfl8lYgb2Sr9xKlvmCmcU='",
    "'sha256-HXhQM6ELrVUcZms/DLHL1dH06lIksex0j+VgqIIlSmM='",
    # dmn-js (the decision editor, decision 036): the bpmn.io watermark and logo (a licence term),
    # its popup menu's margin, an empty attribute and its off-screen text measurer
    "'sha256-r3vOsuepBDg6tz/cOusiNJ9Y4Lp9hGQTT7pzDks1Xxc='",  # the watermark's position
    "'sha256-CA/eh4+2R0J7cEQ14gBMtx834RIOjzMUqCM+evtrkp4='",  # vertical-align:middle (logo)
    "'sha256-ZG9bHUWWXDZyu7zfItuLwGK+cah/hweM0RfXpZpxZVM='",  # margin: 15px 20px 15px 10px; ...
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # (empty)
    "'sha256-T+dPSjRVHalDc/mwQm0/E2bredKPUxLfYOuU3MOV1BE='",  # visibility: hidden; position: fixed
]
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "style-src-attr": ["'unsafe-hashes'", *STYLE_ATTRIBUTE_HASHES],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF, "data:"],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    }
}
# Permissions-Policy: the portal uses none of these browser features.
FLOWGATE_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Redis, Celery, Channels --------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Fail fast when Redis is away (the request must not hang); the sweeper re-sends from the rows.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": 300,
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
    # channels_redis waits for a websocket's next message in blocking pops of 5 s; redis-py 8
    # reads with a 5 s socket timeout by default, which ended every idle live page's consumer
    # with "Timeout reading" (the page reconnected, and hand-offs in the gap were late). Reads
    # may wait longer than a pop; connecting still fails fast when Redis is away.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}]
            },
        }
    }
else:
    # Embedded mode: see docs/decisions/001-embedded-broker.md
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # apps/common/broker.py, registered in portal/celery.py. The hostname means nothing to the
    # transport; without one kombu logs "No hostname was supplied" at every connection.
    CELERY_BROKER_URL = "flowgate-fs://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# print() and the console e-mail backend in a worker are information, not warnings (Celery's
# default level for redirected output is WARNING, which made every demo e-mail look like one).
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Keep database connections across tasks: portal/celery.py recycles them by CONN_MAX_AGE and
# health, as Django does per request (without this Celery reconnects around every task).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Rows are the truth: a message that cannot be sent now is re-sent by the sweeper, so do not block
# the request retrying the broker.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# No task holds a worker forever (a connector that hangs in C code, a slow-drip server the
# connector's own deadline somehow missed). At the soft limit the task gets SoftTimeLimitExceeded:
# the running step is recorded as a failed attempt ("ran past the worker's time limit", retried
# with backoff, then an incident). At the hard limit the worker process ends and is replaced;
# the job's lease expires and the sweeper hands it out again. Both stay above the HTTP
# connector's largest timeout (120 s, apps/connectors/http/inputs.py MAX_TIMEOUT). Enforced in
# the worker process itself (apps/common/task_limits.py, armed in portal/celery.py): Celery's
# own task_soft_time_limit/task_time_limit cost about a fifth of a worker's throughput.
FLOWGATE_TASK_SOFT_TIME_LIMIT = env.int("FLOWGATE_TASK_SOFT_TIME_LIMIT", default=150)
FLOWGATE_TASK_TIME_LIMIT = env.int("FLOWGATE_TASK_TIME_LIMIT", default=180)
if not 0 < FLOWGATE_TASK_SOFT_TIME_LIMIT < FLOWGATE_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "FLOWGATE_TASK_SOFT_TIME_LIMIT must be above 0 and smaller than FLOWGATE_TASK_TIME_LIMIT "
        "(seconds)."
    )
CELERY_TASK_SOFT_TIME_LIMIT = None  # see FLOWGATE_TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = None
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "apps.common.beat:HeartbeatScheduler"
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {"task": "common.heartbeat", "schedule": 5.0},
    "engine-fire-timers": {"task": "engine.fire_timers", "schedule": 1.0},
    # The chaos suite sweeps every second (tests/chaos/stack.py): a dead worker's job comes back sooner.
    "engine-sweep-jobs": {
        "task": "engine.sweep_jobs",
        "schedule": env.float("FLOWGATE_JOB_SWEEP_EVERY_SECONDS", default=5.0),
    },
    "engine-sweep-migrations": {"task": "engine.sweep_migrations", "schedule": 30.0},
    "audit-link": {"task": "audit.link", "schedule": 1.0},
    "prune-idempotency-records": {"task": "common.prune_idempotency_records", "schedule": 3600.0},
    "reports-refresh-snapshots": {
        "task": "reports.refresh_snapshots",
        "schedule": env.float("FLOWGATE_REPORTS_SNAPSHOT_EVERY_SECONDS", default=300.0),
    },
    "reports-fact-buckets": {
        "task": "reports.fact_buckets",
        "schedule": env.float("FLOWGATE_REPORTS_BUCKETS_EVERY_SECONDS", default=60.0),
    },
    "reports-job-facts": {
        "task": "reports.job_facts_sweep",
        "schedule": env.float("FLOWGATE_REPORTS_JOB_FACTS_EVERY_SECONDS", default=10.0),
    },
    "inbox-escalate-overdue": {"task": "inbox.escalate_overdue", "schedule": 30.0},
    "inbox-warn-at-risk": {"task": "inbox.warn_at_risk", "schedule": 30.0},
    "inbox-prune-events": {"task": "inbox.prune_events", "schedule": 3600.0},
    "retention-purge": {"task": "retention.purge", "schedule": 3600.0},
    "audit-anchor": {
        "task": "audit.anchor",
        "schedule": env.float("AUDIT_ANCHOR_EVERY_SECONDS", default=300.0),
    },
    # The audit chain is verified on a schedule (decision 039 addendum): from the latest signed
    # checkpoint often, the whole chain (which then signs a new checkpoint) less often.
    "audit-verify": {
        "task": "audit.verify",
        "schedule": env.float("FLOWGATE_AUDIT_VERIFY_EVERY_SECONDS", default=3600.0),
        "kwargs": {"full": False},
    },
    "audit-verify-full": {
        "task": "audit.verify",
        "schedule": env.float("FLOWGATE_AUDIT_VERIFY_FULL_EVERY_SECONDS", default=86400.0),
        "kwargs": {"full": True},
    },
}
# A scheduled verification that takes longer gives up and records nothing (the age of the last
# verification then grows: alert FlowgateAuditVerifyStale). Below the worker's soft time limit:
# by default 120 s, or less where the soft limit is shorter (a worker started with a short soft
# limit must still start); a value set by hand at or above the soft limit is refused.
FLOWGATE_AUDIT_VERIFY_MAX_SECONDS = env.float(
    "FLOWGATE_AUDIT_VERIFY_MAX_SECONDS", default=min(120.0, FLOWGATE_TASK_SOFT_TIME_LIMIT * 0.8)
)
if not 0 < FLOWGATE_AUDIT_VERIFY_MAX_SECONDS < FLOWGATE_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "FLOWGATE_AUDIT_VERIFY_MAX_SECONDS must be above 0 and below "
        "FLOWGATE_TASK_SOFT_TIME_LIMIT (seconds)."
    )
# Retention (docs/retention.md): finished instances older than this many days are archived and
# purged, for processes without their own policy; 0 keeps everything (the default).
FLOWGATE_RETENTION_DAYS = env.int("FLOWGATE_RETENTION_DAYS", default=0)
FLOWGATE_RETENTION_BATCH = env.int("FLOWGATE_RETENTION_BATCH", default=500)
FLOWGATE_RETENTION_MAX_BATCHES = env.int("FLOWGATE_RETENTION_MAX_BATCHES", default=20)
# A step whose own `timeout` input is longer gets that + FLOWGATE_JOB_LEASE_MARGIN_SECONDS
# (runtime.projections.job_lease): the time a worker keeps a job past its connector's own timeout
# before the lease may be taken back. The chaos suite shortens it (tests/chaos/stack.py).
FLOWGATE_JOB_LEASE_SECONDS = env.int("FLOWGATE_JOB_LEASE_SECONDS", default=60)
FLOWGATE_JOB_LEASE_MARGIN_SECONDS = env.float("FLOWGATE_JOB_LEASE_MARGIN_SECONDS", default=15.0)
# A batch migration moves this many instances side by side (each in its own transaction and
# database connection; PostgreSQL only, SQLite moves one at a time). Decision 035.
FLOWGATE_MIGRATION_THREADS = env.int("FLOWGATE_MIGRATION_THREADS", default=4)
FLOWGATE_JOB_LOST_AFTER_SECONDS = env.int("FLOWGATE_JOB_LOST_AFTER_SECONDS", default=30)
FLOWGATE_JOB_RETRY_BASE_SECONDS = env.float("FLOWGATE_JOB_RETRY_BASE_SECONDS", default=2.0)
FLOWGATE_JOB_RETRY_MAX_SECONDS = env.float("FLOWGATE_JOB_RETRY_MAX_SECONDS", default=300.0)
# A step waits (without spending attempts) while its target answers 429 with Retry-After or its
# circuit is open; once those waits add up past this many seconds it gives up with an incident
# (decision 039 addendum). 0: wait forever. Waits for our own per-target limits do not count.
FLOWGATE_JOB_MAX_DEFER_SECONDS = env.float("FLOWGATE_JOB_MAX_DEFER_SECONDS", default=3600.0)
FLOWGATE_INLINE_CHAIN_LIMIT = env.int("FLOWGATE_INLINE_CHAIN_LIMIT", default=50)
# Bounds on engine work (docs/engine/limits.md, decision 022): every run (a start, a task
# completion, a job result) stops after this many steps or seconds without a wait and opens an
# incident; an instance stops growing past MAX_INSTANCE_TASKS; deploy refuses bigger models.
FLOWGATE_ENGINE_MAX_STEPS_PER_RUN = env.int("FLOWGATE_ENGINE_MAX_STEPS_PER_RUN", default=2000)
FLOWGATE_ENGINE_MAX_SECONDS_PER_RUN = env.float("FLOWGATE_ENGINE_MAX_SECONDS_PER_RUN", default=2.0)
FLOWGATE_ENGINE_MAX_INSTANCE_TASKS = env.int("FLOWGATE_ENGINE_MAX_INSTANCE_TASKS", default=20000)
FLOWGATE_ENGINE_MAX_MULTI_INSTANCE = env.int("FLOWGATE_ENGINE_MAX_MULTI_INSTANCE", default=1000)
FLOWGATE_ENGINE_MAX_FLOW_NODES = env.int("FLOWGATE_ENGINE_MAX_FLOW_NODES", default=5000)
FLOWGATE_ENGINE_MAX_NESTING = env.int("FLOWGATE_ENGINE_MAX_NESTING", default=25)

# --- inbox and requests (docs/inbox.md) ----------------------------------------------------------
FLOWGATE_BASE_URL = env.str("FLOWGATE_BASE_URL", default="http://127.0.0.1:8000")
FLOWGATE_ATTACHMENT_MAX_BYTES = env.int("FLOWGATE_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
FLOWGATE_ATTACHMENT_TYPES = env.list(
    "FLOWGATE_ATTACHMENT_TYPES",
    default=["application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"],
)
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"  # attachments are served by a permission-checking view, never directly

# --- REST framework -----------------------------------------------------------------------------
# Conventions: docs/api.md. The classes live in small modules (apps.common.api_pagination,
# api_throttling) because DRF imports them while loading; apps.common.api re-exports them all.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes missing credentials a 401, not a 403.
        "apps.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with depth, number and text limits (docs/security.md); form and multipart as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "apps.common.api_parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only: DRF's browsable HTML renderer needs inline styles the CSP refuses. People
    # explore the API in Swagger UI (/api/docs/); a browser opening an API URL gets the JSON.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "apps.common.api_schema.FlowgateAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "apps.common.api_pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "apps.common.api_pagination.OrderingFilter",
        "apps.common.api_pagination.SearchFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["apps.common.api_throttling.WriteRateThrottle"],
    "EXCEPTION_HANDLER": "apps.common.api_errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flowgate API",
    "DESCRIPTION": (
        "Deploy BPMN processes, run instances, work tasks, read the audit trail.\n\n"
        "Authenticate with `Authorization: Token <key>` (or `Bearer <key>`); create keys on your "
        'profile page. Every error is `{"error": code, "message": text, "details": [...]}`. '
        "Lists take `page`/`page_size` (max 200). Writes are rate limited (429 + Retry-After). "
        "See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # Swagger UI from the drf-spectacular-sidecar package (our static files), not a CDN. (ReDoc is
    # not served: its styled-components inject <style> elements, which the CSP refuses.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several resources have a `status`; name each choice set after its resource.
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "apps.engine.models.InstanceStatus",
        "TaskStatusEnum": "apps.inbox.models.TaskStatus",
        "TokenStatusEnum": ["active", "revoked", "expired"],
    },
}
# Off by default under tests: ids repeat across rolled-back tests, so counters would leak between
# them; the throttling tests set a rate explicitly.
FLOWGATE_API_WRITE_RATE = env.str("FLOWGATE_API_WRITE_RATE", default=None if TESTING else "120/min")
FLOWGATE_IDEMPOTENCY_TTL_HOURS = env.int("FLOWGATE_IDEMPOTENCY_TTL_HOURS", default=24)

# --- Flowgate -----------------------------------------------------------------------------------
# Fernet keys for connector secrets, comma-separated, newest first (rotation: prepend a new key).
FLOWGATE_SECRET_KEYS = env.list("FLOWGATE_SECRET_KEYS", default=[])
if PRODUCTION and not FLOWGATE_SECRET_KEYS:
    raise ImproperlyConfigured(
        "Production needs FLOWGATE_SECRET_KEYS (Fernet keys for connector secrets)."
    )
# Keys of the audit events' writer MAC, comma-separated, newest first (rotation: prepend a new key
# and keep the old ones; apps/audit/keys.py). Outside production a key derived from SECRET_KEY.
FLOWGATE_AUDIT_KEYS = [k for k in env.list("FLOWGATE_AUDIT_KEYS", default=[]) if k.strip()]
if PRODUCTION and (
    not FLOWGATE_AUDIT_KEYS or any(len(k.strip()) < 32 for k in FLOWGATE_AUDIT_KEYS)
):
    raise ImproperlyConfigured(
        "Production needs FLOWGATE_AUDIT_KEYS (secrets of at least 32 characters that "
        "authenticate audit events; newest first, keep retired keys listed)."
    )
AUDIT_ANCHOR_PATH = env.str("AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchors.jsonl"))
FLOWGATE_DEMO_ALLOWED = not PRODUCTION
# Turning the audit trail off exists only to measure its cost (make bench); never in production.
FLOWGATE_AUDIT_ENABLED = True if PRODUCTION else env.bool("FLOWGATE_AUDIT_ENABLED", default=True)
# GET /metrics (Prometheus): a bearer token, or a client address in one of these networks.
FLOWGATE_METRICS_TOKEN = env.str("FLOWGATE_METRICS_TOKEN", default="")
FLOWGATE_METRICS_ALLOWED_NETWORKS = env.list(
    "FLOWGATE_METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"]
)
# Sort memory of one report query (PostgreSQL SET LOCAL work_mem): percentiles sort their rows.
FLOWGATE_REPORTS_WORK_MEM = env.str("FLOWGATE_REPORTS_WORK_MEM", default="64MB")
# Report pages serve their default view from a background snapshot younger than this.
FLOWGATE_REPORTS_SNAPSHOT_MAX_AGE = env.int("FLOWGATE_REPORTS_SNAPSHOT_MAX_AGE", default=900)
# The beat writes report facts missing for rows finished in this window (decision 017).
FLOWGATE_REPORTS_JOB_FACTS_WINDOW_SECONDS = env.float(
    "FLOWGATE_REPORTS_JOB_FACTS_WINDOW_SECONDS", default=300.0
)
FLOWGATE_REPORTS_FACTS_CATCH_UP_HOURS = env.float(
    "FLOWGATE_REPORTS_FACTS_CATCH_UP_HOURS", default=48.0
)
FLOWGATE_HTTP_ALLOWLIST = env.list("FLOWGATE_HTTP_ALLOWLIST", default=[])
FLOWGATE_HTTP_DNS_TIMEOUT = env.float("FLOWGATE_HTTP_DNS_TIMEOUT", default=5.0)
# HTTP connector: largest response body accepted (bigger -> permanent error).
FLOWGATE_HTTP_MAX_RESPONSE_BYTES = env.int("FLOWGATE_HTTP_MAX_RESPONSE_BYTES", default=1024 * 1024)
# A link from an instance's trace id to the tracing backend, e.g.
# "https://jaeger.example.com/trace/{trace_id}" or a Grafana Tempo explore URL; empty: no link.
FLOWGATE_TRACE_URL_TEMPLATE = env.str("FLOWGATE_TRACE_URL_TEMPLATE", default="")
# Circuit breaker per target origin (docs/connectors.md, "Protecting the services we call"):
# opens after this many consecutive failures (5xx, 408/429, timeouts, connection errors), lets one
# probe through after the cool-down; the probe holds the half-open circuit at most PROBE seconds.
FLOWGATE_HTTP_BREAKER_FAILURES = env.int("FLOWGATE_HTTP_BREAKER_FAILURES", default=5)
FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = env.float(
    "FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS", default=30.0
)
FLOWGATE_HTTP_BREAKER_PROBE_SECONDS = env.float(
    "FLOWGATE_HTTP_BREAKER_PROBE_SECONDS", default=150.0
)
# Per target (JSON): {"https://api.example.com:443": {"failures": 10, "cooldown": 60}}.
FLOWGATE_HTTP_BREAKER_TARGETS = env.json("FLOWGATE_HTTP_BREAKER_TARGETS", default={})
# Concurrency and rate limits per target origin (JSON; docs/connectors.md, "Limits per target"):
# {"https://api.example.com:443": {"concurrency": 5, "rate": 10, "period": 1}}; unlisted: no limit.
FLOWGATE_HTTP_LIMIT_TARGETS = env.json("FLOWGATE_HTTP_LIMIT_TARGETS", default={})
# Modules that register connectors when imported (besides flowgate.connectors entry points).
FLOWGATE_CONNECTOR_MODULES = env.list("FLOWGATE_CONNECTOR_MODULES", default=[])

# --- e-mail (email connector) ---------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="flowgate@localhost")

# --- logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "apps.common.logging.ContextFilter"},
        "periodic_tasks": {"()": "apps.common.logging.PeriodicTaskFilter"},
        "client_errors": {"()": "apps.common.logging.ClientErrorFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(instance_id)s %(trace_id)s %(span_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        # client_errors here too: records of django.security.* (a bad Host header, 400) are
        # created on child loggers, which a filter on a parent logger does not see.
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context", "client_errors"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler (DEBUG only) would print every record a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_errors"]},
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # The beat's periodic tasks: DEBUG unless a run did something (apps/common/logging.py).
        "celery.worker.strategy": {"filters": ["periodic_tasks"]},
        "celery.app.trace": {"filters": ["periodic_tasks"]},
    },
}

# --- cache (login throttling, rate limits) ------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
