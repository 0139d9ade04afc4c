"""Production serving: the WSGI application for gunicorn, whitenoise for the static files.

With the manifest storage (STATIC_MANIFEST=1 in production), collectstatic writes each file
under a content-hashed name with a gzip copy beside it, and whitenoise serves the hashed
name with a one-year immutable cache header, compressed for a client that takes gzip.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_the_wsgi_application_loads():
    from dhcpadmin.wsgi import application

    assert isinstance(application, WSGIHandler)


def test_whitenoise_comes_right_after_the_security_middleware():
    middleware = settings.MIDDLEWARE
    assert middleware[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


@pytest.fixture
def collected(tmp_path):
    """collectstatic into a temporary STATIC_ROOT with the manifest storage, and the
    settings of a production process (whitenoise lists STATIC_ROOT once, at start)."""
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    with override_settings(
        STATIC_ROOT=tmp_path, STORAGES=storages, WHITENOISE_AUTOREFRESH=False, DEBUG=False
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield tmp_path


@pytest.mark.parametrize("name", ["failover/app.css", "bootstrap/css/bootstrap.min.css"])
def test_static_files_are_hashed_compressed_and_cached_for_long(collected, name):
    url = static(name)
    assert url.startswith("/static/")
    relative = url.removeprefix("/static/")
    assert relative != name  # a content-hashed name
    # The copy served (references inside CSS point to hashed names too).
    original = (collected / relative).read_bytes()
    assert original[:100] == (collected / name).read_bytes()[:100]
    assert gzip.decompress((collected / f"{relative}.gz").read_bytes()) == original

    response = Client().get(url, headers={"Accept-Encoding": "gzip"})  # no login needed
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == original

    plain = Client().get(url)
    assert b"".join(plain.streaming_content) == original
    assert not plain.has_header("Content-Encoding")


def test_a_page_links_the_hashed_static_files(collected, admin_client):
    response = admin_client.get("/")
    assert response.status_code == 200
    assert static("failover/app.css").encode() in response.content
    assert b'href="/static/failover/app.css"' not in response.content


def _storage_in_a_fresh_process(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "STATIC_MANIFEST"}}
    environ.update(env, DJANGO_SETTINGS_MODULE="dhcpadmin.settings", SECRET_KEY="x")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_manifest_storage_is_used_when_asked_and_not_by_the_development_server(tmp_path):
    # STATIC_MANIFEST=1 asks for it (scripts/serve.sh, deploy/dhcpadmin.service).
    assert _storage_in_a_fresh_process(STATIC_MANIFEST="1") == MANIFEST_STORAGE
    # Unset: only when STATIC_ROOT holds a manifest from such a collectstatic.
    plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert _storage_in_a_fresh_process(STATIC_ROOT=str(tmp_path)) == plain
    (tmp_path / "staticfiles.json").write_text("{}")
    assert _storage_in_a_fresh_process(STATIC_ROOT=str(tmp_path)) == MANIFEST_STORAGE
    # The development server (scripts/run.sh: DEBUG=1) serves files from the finders.
    assert _storage_in_a_fresh_process(STATIC_ROOT=str(tmp_path), DEBUG="1") == plain


def test_gunicorn_loads_the_application():
    environ = {**os.environ, "SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "dhcpadmin.settings"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "--check-config", "--print-config", "dhcpadmin.wsgi:application"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "wsgi_app" in result.stdout or "dhcpadmin.wsgi" in result.stdout


# --- the benchmarks of production speed (bench/): they build and measure what they say ----


@pytest.mark.django_db
def test_gen_db_builds_the_mirrored_pair_and_every_benchmarked_page_answers():
    from django.contrib.auth.models import User

    from bench import gen_db, pages_bench

    gen_db.import_servers(120)
    gen_db.make_users()
    assert gen_db.counts() == {
        "servers": 2,
        "scopes": 240,
        "pools": 240,
        "failover pools": 240,
        "failover peers": 2,
        "relationships with both servers": 1,
    }
    viewer = User.objects.get(username=gen_db.VIEWER[0])
    assert not viewer.has_perm("failover.change_scope") and viewer.has_perm("failover.view_scope")

    client = Client()
    client.force_login(User.objects.get(username=gen_db.SUPERUSER[0], is_superuser=True))
    context = pages_bench.names()
    for page in pages_bench.PAGES:
        result = pages_bench.measure(client, page, context, repeat=0, no_cache=False)
        assert (page.label, result.status) == (page.label, 200)
        assert result.size > 0 and result.queries > 0
