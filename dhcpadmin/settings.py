"""dhcpadmin settings: one module, driven by environment variables.

SECRET_KEY     required unless DEBUG is on (a throw-away development key is used then)
DEBUG          "1"/"true" to enable debug mode (default off)
ALLOWED_HOSTS  comma-separated host names (default: localhost names when DEBUG is on)
DATABASE_URL   e.g. postgres://user:pass@host:5432/dhcpadmin (default: SQLite file db.sqlite3)
DHCPD_PATH     the dhcpd binary used to validate rendered configs (default "dhcpd" on PATH)
DHCPD_IMPORT_INCLUDE_ROOT  the only directory whose files `include "FILE";` may read when
               `manage.py import_dhcpd_conf` imports a file (default: the imported file's own
               directory); the Import Configuration page never follows includes
DHCPD_IMPORT_MAX_BYTES     the largest dhcpd.conf the Import Configuration page takes
               (default 8 MiB); the command takes up to the parser's 16 MiB
CONN_MAX_AGE   seconds a database connection is kept open for the next request (default 0:
               one connection per request; 60 suits gunicorn's long-lived workers)
STATIC_ROOT    where `manage.py collectstatic` puts the static files that whitenoise serves
               (default: staticfiles/ in the checkout)
STATIC_MANIFEST  "1": static files under content-hashed names, compressed (gzip, and
               Brotli when the brotli package is installed), served with a one-year cache
               header; needs `collectstatic` first (scripts/serve.sh does it). "0": plain
               names. Unset: on when DEBUG is off and STATIC_ROOT holds a manifest
               (staticfiles.json) from such a collectstatic. Always off under pytest
"""

import os
import sys
import tempfile
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG")
# Without SECRET_KEY, Django refuses anything that needs it (sessions, CSRF) but management
# commands such as migrate still work. A throw-away key serves development and the tests.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or "pytest" in sys.modules):
    SECRET_KEY = "dev-insecure-key-do-not-use-in-production"

_hosts = os.environ.get("ALLOWED_HOSTS", "")
ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()] or (
    ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "django_tasks",
    "django_tasks_db",
    "failover",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from STATIC_ROOT, before sessions and the rest (whitenoise).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "failover.middleware.RejectNulMiddleware",  # a NUL in the request: 400, before any view
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dhcpadmin.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "dhcpadmin.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a query when its estimated cost is high (the counts of the
    # server list, over 20,000 pools): 30 ms of compiling for a 10 ms query. The app's
    # queries are short; JIT only pays for long analytic ones.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Every transaction takes SQLite's write lock when it begins, so the checks of a change
    # (overlaps, unique names, the peer rules) run one change at a time (failover.services
    # takes the server's row lock for the same purpose on PostgreSQL).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    if "pytest" in sys.modules:
        # The tests' SQLite database is a file, not memory, so the real background processes
        # a test starts (db_worker, run_scheduler) open the same database.
        DATABASES["default"]["TEST"] = {
            "NAME": os.environ.get(
                "DHCPADMIN_TEST_SQLITE",
                os.path.join(tempfile.gettempdir(), f"dhcpadmin-test-{os.getpid()}.sqlite3"),
            )
        }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files in production: whitenoise serves STATIC_ROOT from the app itself (gunicorn),
# gzip/Brotli variants when the browser takes them. With the manifest storage, collectstatic
# gives each file a name with a hash of its content and whitenoise sends those with
# "Cache-Control: max-age=315360000, public, immutable". That storage needs the manifest
# that collectstatic writes (a page would fail without it), so it is used only when asked
# (STATIC_MANIFEST=1, as scripts/serve.sh and deploy/dhcpadmin.service do) or when
# STATIC_ROOT already holds a manifest and DEBUG is off; never for the tests (they run
# without collectstatic) nor the development server (DEBUG=1, files from the finders).
if "pytest" in sys.modules:
    STATIC_MANIFEST = False
    # The tests run without collectstatic: whitenoise looks files up per request instead of
    # listing an empty STATIC_ROOT at start (which warns "No directory at" for every test
    # client). In production the warning stays: there it means collectstatic did not run.
    WHITENOISE_AUTOREFRESH = True
elif os.environ.get("STATIC_MANIFEST", "").strip():
    STATIC_MANIFEST = env_bool("STATIC_MANIFEST")
else:
    STATIC_MANIFEST = not DEBUG and (STATIC_ROOT / "staticfiles.json").is_file()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "failover:server_list"
LOGOUT_REDIRECT_URL = "login"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"

DHCPD_PATH = os.environ.get("DHCPD_PATH", "dhcpd")

# Importing dhcpd.conf files (failover.dhcpd.importer).
DHCPD_IMPORT_INCLUDE_ROOT = os.environ.get("DHCPD_IMPORT_INCLUDE_ROOT") or None
DHCPD_IMPORT_MAX_BYTES = int(os.environ.get("DHCPD_IMPORT_MAX_BYTES", str(8 * 1024 * 1024)))
# The import preview posts the text back with OK: form fields may hold that much (plus room
# for the rest of the form). Larger requests get a clear message, not a 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = DHCPD_IMPORT_MAX_BYTES + 256 * 1024


# --- HTTPS and security headers (production; see README "Production settings") -------------
# Off unless set, so development and the tests run over plain HTTP. Behind a proxy that
# terminates TLS, set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (only if the proxy
# always sets or strips that header).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE")
_proxy_header = [p.strip() for p in os.environ.get("SECURE_PROXY_SSL_HEADER", "").split(",")]
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header) if len(_proxy_header) == 2 else None
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]


# Secrets at rest (OMAPI keys, SSH keys): Fernet keys, the first encrypts (failover/crypto.py).
DHCPADMIN_ENCRYPTION_KEYS = [
    k for k in os.environ.get("DHCPADMIN_ENCRYPTION_KEY", "").split(",") if k.strip()
]

# Background work (polling, deploys): django-tasks with its database backend, so the queue
# lives in the same database (SQLite or PostgreSQL) and `manage.py db_worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Deploys (failover/deploy/rollout.py): backups kept per server, bounded waits (seconds).
# DHCPADMIN_DEPLOY_NORMAL_SECONDS empty: 2 x max-response-delay + 30 of each relationship.
DHCPADMIN_DEPLOY_BACKUPS = int(os.environ.get("DHCPADMIN_DEPLOY_BACKUPS", "5"))
DHCPADMIN_DEPLOY_COMMAND_TIMEOUT = float(os.environ.get("DHCPADMIN_DEPLOY_COMMAND_TIMEOUT", "60"))
DHCPADMIN_DEPLOY_VERIFY_SECONDS = float(os.environ.get("DHCPADMIN_DEPLOY_VERIFY_SECONDS", "20"))
DHCPADMIN_DEPLOY_NORMAL_SECONDS = os.environ.get("DHCPADMIN_DEPLOY_NORMAL_SECONDS", "")
DHCPADMIN_DEPLOY_STALE_SECONDS = float(os.environ.get("DHCPADMIN_DEPLOY_STALE_SECONDS", "900"))

# --- Live failover state (issue 10; failover/live/) ------------------------------------------
# Servers with an OMAPI port AND a key are polled every DHCPADMIN_POLL_SECONDS by the worker
# (failover/schedule.py); every OMAPI exchange ends after DHCPADMIN_OMAPI_TIMEOUT seconds.
DHCPADMIN_POLL_SECONDS = int(os.environ.get("DHCPADMIN_POLL_SECONDS", "15"))
DHCPADMIN_OMAPI_TIMEOUT = float(os.environ.get("DHCPADMIN_OMAPI_TIMEOUT", "5"))
# A state other than normal for longer than this raises an alert.
DHCPADMIN_ALERT_NOT_NORMAL_SECONDS = int(
    os.environ.get("DHCPADMIN_ALERT_NOT_NORMAL_SECONDS", "300")
)
# Django's mail settings, from the environment (the alert mails use them). Without
# EMAIL_HOST, mail goes to the console in DEBUG and to localhost:25 otherwise.
if os.environ.get("EMAIL_HOST"):
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "dhcpadmin@localhost")
# Alert mails (through Django's EMAIL_* settings) go to these addresses (comma-separated).
DHCPADMIN_ALERT_EMAILS = [
    a.strip() for a in os.environ.get("DHCPADMIN_ALERT_EMAILS", "").split(",") if a.strip()
]
# /metrics (Prometheus) answers only with "Authorization: Bearer <token>"; empty: 404.
DHCPADMIN_METRICS_TOKEN = os.environ.get("DHCPADMIN_METRICS_TOKEN", "")

# The running servers over SSH (failover/deploy): the bound of each SSH step in seconds, the
# largest file read (leases files grow), the free-lease warning of Pool Balance (percent of a
# pool) and how often the worker checks drift (failover/deploy/tasks.py).
DHCPADMIN_SSH_TIMEOUT = float(os.environ.get("DHCPADMIN_SSH_TIMEOUT", "10"))
DHCPADMIN_SSH_MAX_READ = int(os.environ.get("DHCPADMIN_SSH_MAX_READ", str(64 * 1024 * 1024)))
DHCPADMIN_LEASES_FREE_WARN_PERCENT = float(
    os.environ.get("DHCPADMIN_LEASES_FREE_WARN_PERCENT", "10")
)
DHCPADMIN_DRIFT_SECONDS = float(os.environ.get("DHCPADMIN_DRIFT_SECONDS", "900"))
