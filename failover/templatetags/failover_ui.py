"""Small template helpers of the web UI."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.template import TemplateDoesNotExist

register = template.Library()


@register.simple_tag(takes_context=True)
def optional_include(context: template.Context, template_name: str) -> str:
    """Render ``template_name`` with the current context if it exists, else nothing.

    The extension points of the pages (e.g. ``failover/config_server_extra.html``) that other
    parts of the app fill in later.
    """
    try:
        extra = context.template.engine.get_template(template_name)
    except TemplateDoesNotExist:
        return ""
    return extra.render(context)


@register.filter
def menu_json(items: list[dict[str, Any]]) -> str:
    """Context-menu items as JSON for a ``data-menu`` attribute (autoescaped by the template)."""
    return json.dumps(items)
