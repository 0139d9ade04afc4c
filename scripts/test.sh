#!/usr/bin/env bash
# Run every test of dhcpadmin, on a fresh Debian machine too (that is CI: bash .ci/run).
#
#   bash scripts/test.sh [pytest arguments...]
#
# 1. installs what the tests need when it is missing: Debian's isc-dhcp-server (dhcpd),
#    isc-dhcp-client, iproute2, chromium and postgresql (as root), and the Python packages
#    (pip install -e ".[dev]" into .venv);
# 2. starts PostgreSQL and makes the role/database "dhcpadmin";
# 3. runs ruff check, mypy (django-stubs), makemigrations --check, then pytest on SQLite and again on
#    PostgreSQL. Exits non-zero if any of them fails; prints both pytest summaries.
#
# As root (or with CI=true) the tests run with CI=true: a missing real part (dhcpd,
# chromium, PostgreSQL, network namespaces) then FAILS its tests instead of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

apt_install_missing isc-dhcp-server isc-dhcp-client iproute2 chromium postgresql \
    kea-dhcp4-server kea-ctrl-agent openssh-server
ensure_venv dev
start_postgres

if is_root || [ "${CI:-}" = "true" ]; then
    export CI=true
else
    warn "not root and CI is not true: tests whose real parts are missing are skipped"
fi
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export DHCPADMIN_POSTGRES_URL="$POSTGRES_URL"
unset DATABASE_URL DEBUG

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
declare -A result=()
failed=0

step() { # step NAME COMMAND...: run, remember the outcome
    local name="$1" rc=0
    shift
    say "$name"
    "$@" || rc=$?
    if [ $rc -eq 0 ]; then
        result["$name"]="ok"
    else
        result["$name"]="FAILED (exit $rc)"
        failed=1
    fi
}

run_pytest() { # run_pytest NAME [env assignments...]: pytest "$@" of the script
    local name="$1" rc=0 log="$logs/$1.log"
    shift
    say "pytest on $name"
    set +e +o pipefail
    env "$@" .venv/bin/python -m pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e -o pipefail
    local summary
    summary="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')"
    case $rc in
        0) result["pytest $name"]="ok: $summary" ;;
        5) result["pytest $name"]="FAILED: pytest collected no tests ($summary)"; failed=1 ;;
        *) result["pytest $name"]="FAILED (exit $rc): $summary"; failed=1 ;;
    esac
}

PYTEST_ARGS=("$@")
step "ruff check" .venv/bin/ruff check .
step "mypy" .venv/bin/mypy failover/
step "makemigrations --check" .venv/bin/python manage.py makemigrations --check --dry-run
run_pytest SQLite
if [ -n "$POSTGRES_URL" ]; then
    run_pytest PostgreSQL DATABASE_URL="$POSTGRES_URL"
elif [ "${CI:-}" = "true" ]; then
    result["pytest PostgreSQL"]="FAILED: PostgreSQL is not available"
    failed=1
else
    result["pytest PostgreSQL"]="skipped: PostgreSQL is not available"
fi

echo
say "Summary"
for name in "ruff check" "mypy" "makemigrations --check" "pytest SQLite" "pytest PostgreSQL"; do
    printf '  %-24s %s\n' "$name" "${result[$name]:-not run}"
done
exit $failed
