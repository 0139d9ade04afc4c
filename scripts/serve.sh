#!/usr/bin/env bash
# Run dhcpadmin for real: gunicorn serves the app, whitenoise its static files, DEBUG off.
#
#   SECRET_KEY=... ALLOWED_HOSTS=dhcp.example.net \
#   DATABASE_URL=postgres://dhcpadmin:PASSWORD@127.0.0.1:5432/dhcpadmin bash scripts/serve.sh
#
# Creates .venv (Python 3.11) if missing and installs the app into it (as scripts/run.sh),
# migrates the database, collects the static files into STATIC_ROOT (hashed names, gzip
# copies: STATIC_MANIFEST=1) and starts gunicorn in the foreground (Ctrl-C stops it).
#
# Environment (also read by the app: see dhcpadmin/settings.py):
#   SECRET_KEY        required: a long random string, kept secret and stable
#   ALLOWED_HOSTS     required: the host name(s) users type, comma-separated
#   DATABASE_URL      default: the SQLite file db.sqlite3 (PostgreSQL for many users)
#   CONN_MAX_AGE      seconds a worker keeps its database connection (default here: 60)
#   STATIC_ROOT       where the static files are collected (default: staticfiles/)
#   GUNICORN_BIND     address:port or unix:/path to listen on (default 127.0.0.1:8000)
#   WEB_CONCURRENCY   gunicorn worker processes (default: 2 x CPUs + 1)
#   GUNICORN_TIMEOUT  seconds before a busy worker is restarted (default 120: importing a
#                     large dhcpd.conf takes seconds)
#   GUNICORN_CMD_ARGS any other gunicorn options, e.g. "--forwarded-allow-ips=127.0.0.1"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

[ -n "${SECRET_KEY:-}" ] || die "SECRET_KEY is not set (e.g. SECRET_KEY=\"\$(openssl rand -base64 48)\"; keep it stable)"
[ -n "${ALLOWED_HOSTS:-}" ] || die "ALLOWED_HOSTS is not set (the host names users reach dhcpadmin by)"
case "${DEBUG:-}" in
    1 | [Tt]rue | [Yy]es | [Oo]n) die "DEBUG is on: unset it to serve for real (scripts/run.sh is the development server)" ;;
esac

ensure_venv ""
export STATIC_MANIFEST=1
export CONN_MAX_AGE="${CONN_MAX_AGE:-60}"
say "Migrating the database"
.venv/bin/python manage.py migrate --noinput
say "Collecting the static files"
.venv/bin/python manage.py collectstatic --noinput --verbosity 0

bind="${GUNICORN_BIND:-127.0.0.1:8000}"
workers="${WEB_CONCURRENCY:-$(($(nproc) * 2 + 1))}"
say "dhcpadmin on $bind ($workers gunicorn workers). Create the first admin user with:"
say "  .venv/bin/python manage.py createsuperuser   (same environment)"
exec .venv/bin/gunicorn dhcpadmin.wsgi:application \
    --bind "$bind" \
    --workers "$workers" \
    --timeout "${GUNICORN_TIMEOUT:-120}" \
    --no-control-socket \
    --access-logfile - \
    --error-logfile -
