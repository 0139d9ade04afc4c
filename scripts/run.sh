#!/usr/bin/env bash
# Run dhcpadmin with demo data at http://127.0.0.1:8000 (development server, DEBUG on), and
# its background worker (django-tasks' db_worker: polling, deploys) and the scheduler that
# enqueues the periodic polls (manage.py run_scheduler) beside it.
#
#   bash scripts/run.sh
#
# Creates .venv (Python 3.11) if missing, installs the app into it, migrates the SQLite
# database (or DATABASE_URL's), loads the demo data (idempotent) and prints the login. Ctrl-C
# stops the web server, the worker and the scheduler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_venv ""
export DEBUG=1
say "Migrating the database"
.venv/bin/python manage.py migrate --noinput
say "Loading the demo data"
.venv/bin/python manage.py seed_demo
echo
say "dhcpadmin: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
say "Log in as admin / dhcpadmin-demo, or read-only as viewer / dhcpadmin-viewer. Ctrl-C stops."
.venv/bin/python manage.py db_worker &
worker=$!
.venv/bin/python manage.py run_scheduler &
scheduler=$!
trap 'kill "$worker" "$scheduler" 2>/dev/null; wait "$worker" "$scheduler" 2>/dev/null' EXIT INT TERM
.venv/bin/python manage.py runserver 127.0.0.1:8000
