# Shared by scripts/run.sh and scripts/test.sh (sourced, not run). Bash only.
#
# Functions: say, warn, die, is_root, pick_python, apt_install_missing, ensure_venv,
# start_postgres. They print what they do and change nothing that is already right.

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mWARNING: %s\033[0m\n' "$*" >&2; }
die() {
    printf '\033[31mERROR: %s\033[0m\n' "$*" >&2
    exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }

# The Python 3.11 interpreter to build the venv with: $PYTHON, python3.11 or python3.
pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
        then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# apt_install_missing PKG...: install the Debian packages that dpkg does not know yet.
# Services that packages would start during the install (isc-dhcp-server, postgresql) are
# kept from starting by a policy-rc.d that answers 101, so a container without an init
# system cannot fail the install; the test command starts PostgreSQL itself.
apt_install_missing() {
    local missing=() pkg
    if ! command -v dpkg >/dev/null 2>&1; then
        warn "not a Debian system (no dpkg): install these yourself if missing: $*"
        return 0
    fi
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian packages present: $*"
        return 0
    fi
    if ! is_root; then
        warn "not root: cannot install ${missing[*]}; the tests that need them skip" \
            "(or fail under CI=true). Run as root, or: sudo apt-get install ${missing[*]}"
        return 0
    fi
    say "Installing Debian packages: ${missing[*]}"
    local policy="${POLICY_RC_D:-/usr/sbin/policy-rc.d}" made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# scripts/lib.sh: no service starts during the install\nexit 101\n' \
            >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || rc=$?
    if [ $rc -eq 0 ]; then
        apt-get install -y -q "${missing[@]}" || rc=$?
    fi
    if [ $rc -ne 0 ]; then
        # A postinst that failed to start a service leaves the package unconfigured.
        warn "apt-get exited with $rc; finishing the configuration with dpkg --configure -a"
        dpkg --configure -a || true
    fi
    if [ $made_policy -eq 1 ]; then rm -f "$policy"; fi
    for pkg in "${missing[@]}"; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' ||
            die "the Debian package $pkg did not install"
    done
}

# ensure_venv EXTRA: create .venv with Python 3.11 if missing, and pip install -e ".[EXTRA]"
# (EXTRA empty: just the app) when pyproject.toml changed since the last install.
ensure_venv() {
    local extra="${1:-}" python target stamp want
    if [ ! -x .venv/bin/python ]; then
        python="$(pick_python)" || die "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"
        if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
            if is_root && command -v apt-get >/dev/null 2>&1; then
                apt_install_missing python3-venv python3.11-venv
            else
                die "$python cannot create a venv: install python3.11-venv (Debian)"
            fi
        fi
        say "Creating .venv with $python"
        "$python" -m venv .venv
    fi
    .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die ".venv is not a Python 3.11 venv: remove it and run this again"
    target="."
    [ -n "$extra" ] && target=".[$extra]"
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    # A dev install also serves the app; the app-only install does not serve the tests.
    for stamp in .venv/.installed-dev .venv/.installed-${extra:-app}; do
        if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
            say "Python packages up to date ($stamp)"
            return 0
        fi
    done
    say "Installing Python packages: pip install -e \"$target\""
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
    echo "$want" >".venv/.installed-${extra:-app}"
}

# start_postgres: start the newest PostgreSQL cluster (creating one if there is none), make
# the role and database "dhcpadmin" (role with CREATEDB, for pytest-django's test
# database), and set POSTGRES_URL. Idempotent. Leaves POSTGRES_URL empty when impossible.
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-dhcpadmin-test}"
start_postgres() {
    POSTGRES_URL="${DHCPADMIN_POSTGRES_URL:-}"
    if [ -n "$POSTGRES_URL" ]; then
        say "Using PostgreSQL from DHCPADMIN_POSTGRES_URL"
        return 0
    fi
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        warn "PostgreSQL is not installed: the PostgreSQL run is skipped"
        return 0
    fi
    if ! is_root; then
        warn "not root: cannot start PostgreSQL; set DHCPADMIN_POSTGRES_URL to use a running one"
        return 0
    fi
    local version name port status _
    read -r version name port status _ < <(pg_lsclusters --no-header | sort -V | tail -n 1) || true
    if [ -z "${version:-}" ]; then
        version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
        say "Creating the PostgreSQL $version cluster 'main'"
        pg_createcluster "$version" main >/dev/null
        read -r version name port status _ < <(pg_lsclusters --no-header | sort -V | tail -n 1)
    fi
    if [ "$status" != "online" ]; then
        say "Starting PostgreSQL $version/$name on port $port"
        pg_ctlcluster "$version" "$name" start
    else
        say "PostgreSQL $version/$name is running on port $port"
    fi
    local i
    for i in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p "$port" || die "PostgreSQL does not answer on port $port"
    (
        cd /tmp
        runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dhcpadmin') THEN
        CREATE ROLE dhcpadmin LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
    ELSE
        ALTER ROLE dhcpadmin LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
    END IF;
END
\$\$;
SQL
        if ! runuser -u postgres -- psql -p "$port" -tAc \
            "SELECT 1 FROM pg_database WHERE datname = 'dhcpadmin'" | grep -q 1; then
            runuser -u postgres -- createdb -p "$port" -O dhcpadmin dhcpadmin
        fi
    )
    POSTGRES_URL="postgres://dhcpadmin:$POSTGRES_PASSWORD@127.0.0.1:$port/dhcpadmin"
}
