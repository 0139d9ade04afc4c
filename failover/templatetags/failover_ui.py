"""Small template helpers of the web UI."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def menu_json(items: list[dict[str, Any]]) -> str:
    """Context-menu items as JSON for a ``data-menu`` attribute (autoescaped by the template)."""
    return json.dumps(items)
