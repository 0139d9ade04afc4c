"""``manage.py check --deploy`` passes with the documented production environment (issue 8,
point 6), and the security settings stay off unless set (development and the tests)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The production environment of the README (the security part), as the test uses it.
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "dhcpadmin.example.net",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "CSRF_TRUSTED_ORIGINS": "https://dhcpadmin.example.net",
}
WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # A clean environment: nothing of the test run's own settings leaks in.
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_environment():
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    for warning in WARNINGS:
        assert warning not in output


def test_without_the_security_variables_check_deploy_names_what_is_missing():
    env = {"DEBUG": "0", "ALLOWED_HOSTS": "dhcpadmin.example.net"}
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for warning in WARNINGS:
        assert warning in output


def test_the_settings_read_the_environment():
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    code = (
        "from django.conf import settings as s; print(repr(("
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS)))"
    )
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(
        (
            31536000,
            True,
            True,
            True,
            True,
            True,
            ("HTTP_X_FORWARDED_PROTO", "https"),
            ["https://dhcpadmin.example.net"],
        )
    )


def test_by_default_the_security_settings_are_off(settings):
    """Development and the tests run over plain HTTP."""
    assert settings.SECURE_HSTS_SECONDS == 0
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.CSRF_COOKIE_SECURE is False
    assert settings.SECURE_PROXY_SSL_HEADER is None


@pytest.mark.django_db
def test_behind_a_tls_proxy_the_request_counts_as_secure(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301  # plain HTTP: redirected
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
