#!/usr/bin/env bash
# Run every test of dhcpadmin, on a fresh Debian machine too (that is CI: bash .ci/run).
#
#   bash scripts/test.sh [pytest arguments...]
#
# 1. installs what the tests need when it is missing: Debian's isc-dhcp-server (dhcpd),
#    isc-dhcp-client, iproute2, chromium, postgresql, kea-dhcp4-server, kea-ctrl-agent and
#    openssh-server (as root; no service starts), and the Python packages
#    (pip install -e ".[dev]" into .venv);
# 2. starts PostgreSQL and makes the role/database "dhcpadmin";
# 3. runs ruff check, mypy (django-stubs), makemigrations --check, then pytest on SQLite and on
#    PostgreSQL, the two at the same time (PYTEST_SERIAL=1: one after the other), their lines
#    prefixed [SQLite] / [PostgreSQL]. Exits non-zero if any of them fails; prints both
#    pytest summaries and the slowest tests of each.
#
# As root (or with CI=true) the tests run with CI=true: a missing real part (dhcpd, Kea,
# sshd, chromium, PostgreSQL, network namespaces) then FAILS its tests instead of skipping.
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

start_pytest() { # start_pytest NAME [env assignments...]: pytest in the background; its lines
    # go to $logs/NAME.log and, prefixed with [NAME], to the terminal
    local name="$1"
    shift
    say "pytest on $name"
    (
        set +e +o pipefail
        env "$@" .venv/bin/python -m pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$logs/$name.log" |
            sed -u "s/^/[$name] /"
        echo "${PIPESTATUS[0]}" >"$logs/$name.rc"
    ) &
    pytest_pids+=($!)
}

finish_pytest() { # finish_pytest NAME: the outcome of a pytest started by start_pytest
    local name="$1" rc summary
    rc="$(cat "$logs/$name.rc" 2>/dev/null || echo 1)"
    summary="$(grep -v '^[[:space:]]*$' "$logs/$name.log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')"
    case $rc in
        0) result["pytest $name"]="ok: $summary" ;;
        5) result["pytest $name"]="FAILED: pytest collected no tests ($summary)"; failed=1 ;;
        *) result["pytest $name"]="FAILED (exit $rc): $summary"; failed=1 ;;
    esac
}

PYTEST_ARGS=(--durations=15 "$@")
step "ruff check" .venv/bin/ruff check .
step "mypy" .venv/bin/mypy failover/
step "makemigrations --check" .venv/bin/python manage.py makemigrations --check --dry-run
# The two passes run at the same time: most of the suite waits for daemons, workers and the
# browser, so together they take little more than the longer one. PYTEST_SERIAL=1 runs them one
# after the other.
pytest_pids=()
start_pytest SQLite
[ -n "${PYTEST_SERIAL:-}" ] && wait "${pytest_pids[@]}"
if [ -n "$POSTGRES_URL" ]; then
    start_pytest PostgreSQL DATABASE_URL="$POSTGRES_URL"
fi
wait "${pytest_pids[@]}" || true
finish_pytest SQLite
if [ -n "$POSTGRES_URL" ]; then
    finish_pytest PostgreSQL
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
