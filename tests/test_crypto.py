"""Secrets at rest (failover/crypto.py) and the Operators group the app creates."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group

from failover import crypto
from failover.access import OPERATOR_PERMISSIONS, OPERATORS_GROUP


def test_round_trip_and_not_plain(settings):
    settings.DHCPADMIN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("s3cret-value")
    assert "s3cret-value" not in token and token.startswith("fernet:")
    assert crypto.decrypt(token) == "s3cret-value"


def test_rotation_keeps_old_secrets_readable(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DHCPADMIN_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt("kept")
    settings.DHCPADMIN_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "kept"
    settings.DHCPADMIN_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(token) == crypto.UNREADABLE


def test_derived_key_without_setting(settings):
    settings.DHCPADMIN_ENCRYPTION_KEYS = []
    token = crypto.encrypt("x")
    assert crypto.decrypt(token) == "x"
    settings.SECRET_KEY = "another-secret-key"
    assert crypto.decrypt(token) == crypto.UNREADABLE
    assert crypto.decrypt("not a token") == crypto.UNREADABLE


@pytest.mark.django_db
def test_operators_group_has_the_operator_permissions():
    group = Group.objects.get(name=OPERATORS_GROUP)
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert granted == set(OPERATOR_PERMISSIONS)
