"""A keyed pair rendered from the model reaches `normal` on both sides over OMAPI."""

from __future__ import annotations

import pytest

from tests.live.conftest import state_is

pytestmark = [pytest.mark.dhcpd, pytest.mark.netns]


def test_keyed_pair_reaches_normal_over_omapi(running_pair):
    a = running_pair.wait_for("a", state_is("normal"))
    b = running_pair.wait_for("b", state_is("normal"))
    assert a.ok and a.values["local-state-name"] == "normal", (a, running_pair.log("a"))
    assert b.ok and b.values["local-state-name"] == "normal", (b, running_pair.log("b"))
    assert a.values["partner-state-name"] == b.values["partner-state-name"] == "normal"
    assert a.values["role"] == "primary" and b.values["role"] == "secondary"
