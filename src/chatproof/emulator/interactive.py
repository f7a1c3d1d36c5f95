"""Checks for interactive messages (reply buttons, lists, CTA URL, flows, products).

The emulator rejects interactive messages the platform would reject, with the field named,
so a client's payload builder is tested before it meets Meta. Payment messages
(``order_details``, ``order_status``) exist only for Indian and Brazilian businesses and are
deliberately not emulated.
"""

from __future__ import annotations

from typing import Any

from chatproof.emulator import graph_errors
from chatproof.emulator.errors import GraphError

__all__ = ["SUPPORTED_INTERACTIVE_TYPES", "UNSUPPORTED_INTERACTIVE_TYPES", "check_interactive"]

SUPPORTED_INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "list",
        "cta_url",
        "flow",
        "product",
        "product_list",
        "catalog_message",
        "location_request_message",
    }
)
UNSUPPORTED_INTERACTIVE_TYPES = frozenset({"order_details", "order_status"})
_HEADER_TYPES = frozenset({"text", "image", "video", "document"})
_BODY_OPTIONAL = frozenset({"product"})
_ACTION_NAMES = {
    "cta_url": "cta_url",
    "flow": "flow",
    "catalog_message": "catalog_message",
    "location_request_message": "send_location",
}


def _fail(details: str) -> GraphError:
    return graph_errors.invalid_parameter(details)


def _text(value: object, where: str, *, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(f"The parameter {where} is required.")
    if limit is not None and len(value) > limit:
        raise _fail(f"Param {where} must be at most {limit} characters long.")
    return value


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"The parameter {where} is required.")
    return value


def check_interactive(interactive: object) -> str:
    """Validate an ``interactive`` object and return its type.

    Raises:
        GraphError: code 100 naming the first field that is missing or invalid.
    """
    obj = _object(interactive, "interactive")
    kind = obj.get("type")
    if kind in UNSUPPORTED_INTERACTIVE_TYPES:
        raise _fail(f"Param interactive['type'] {kind} is not available for this phone number.")
    if kind not in SUPPORTED_INTERACTIVE_TYPES:
        raise _fail(
            "Param interactive['type'] must be one of "
            + ", ".join(sorted(SUPPORTED_INTERACTIVE_TYPES))
        )
    if "header" in obj:
        _check_header(obj["header"])
    if kind not in _BODY_OPTIONAL or "body" in obj:
        _text(
            _object(obj.get("body"), "interactive['body']").get("text"),
            "interactive['body']['text']",
            limit=4096,
        )
    if "footer" in obj:
        _text(
            _object(obj["footer"], "interactive['footer']").get("text"),
            "interactive['footer']['text']",
            limit=60,
        )
    action = _object(obj.get("action"), "interactive['action']")
    expected_name = _ACTION_NAMES.get(kind)
    if expected_name is not None and action.get("name") != expected_name:
        raise _fail(f"Param interactive['action']['name'] must be {expected_name}.")
    checks = {
        "button": _check_buttons,
        "list": _check_list,
        "cta_url": _check_cta_url,
        "flow": _check_flow,
        "product": _check_product,
        "product_list": _check_product_list,
    }
    check = checks.get(kind)
    if check is not None:
        check(action)
    if kind == "product_list" and "header" not in obj:
        raise _fail("The parameter interactive['header'] is required.")
    return str(kind)


def _check_header(header: object) -> None:
    obj = _object(header, "interactive['header']")
    kind = obj.get("type")
    if kind not in _HEADER_TYPES:
        raise _fail(
            "Param interactive['header']['type'] must be one of document, image, text, video."
        )
    if kind == "text":
        _text(obj.get("text"), "interactive['header']['text']", limit=60)
    else:
        media = _object(obj.get(kind), f"interactive['header']['{kind}']")
        if not ({"id", "link"} & media.keys()):
            raise _fail(f"Param interactive['header']['{kind}'] needs an id or a link.")


def _check_buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise _fail("Param interactive['action']['buttons'] must have 1 to 3 buttons.")
    seen: set[str] = set()
    for index, button in enumerate(buttons):
        where = f"interactive['action']['buttons'][{index}]"
        obj = _object(button, where)
        if obj.get("type") != "reply":
            raise _fail(f"Param {where}['type'] must be reply.")
        reply = _object(obj.get("reply"), f"{where}['reply']")
        button_id = _text(reply.get("id"), f"{where}['reply']['id']", limit=256)
        _text(reply.get("title"), f"{where}['reply']['title']", limit=20)
        if button_id in seen:
            raise _fail(f"Param {where}['reply']['id'] must be unique.")
        seen.add(button_id)


def _check_list(action: dict[str, Any]) -> None:
    _text(action.get("button"), "interactive['action']['button']", limit=20)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise _fail("Param interactive['action']['sections'] must have 1 to 10 sections.")
    rows_total = 0
    for s_index, section in enumerate(sections):
        where = f"interactive['action']['sections'][{s_index}]"
        obj = _object(section, where)
        if len(sections) > 1:
            _text(obj.get("title"), f"{where}['title']", limit=24)
        rows = obj.get("rows")
        if not isinstance(rows, list) or not rows:
            raise _fail(f"The parameter {where}['rows'] is required.")
        for r_index, row in enumerate(rows):
            row_where = f"{where}['rows'][{r_index}]"
            row_obj = _object(row, row_where)
            _text(row_obj.get("id"), f"{row_where}['id']", limit=200)
            _text(row_obj.get("title"), f"{row_where}['title']", limit=24)
            if "description" in row_obj:
                _text(row_obj["description"], f"{row_where}['description']", limit=72)
        rows_total += len(rows)
    if rows_total > 10:
        raise _fail("Param interactive['action']['sections'] may hold at most 10 rows in total.")


def _check_cta_url(action: dict[str, Any]) -> None:
    parameters = _object(action.get("parameters"), "interactive['action']['parameters']")
    _text(
        parameters.get("display_text"),
        "interactive['action']['parameters']['display_text']",
        limit=20,
    )
    _text(parameters.get("url"), "interactive['action']['parameters']['url']")


def _check_flow(action: dict[str, Any]) -> None:
    parameters = _object(action.get("parameters"), "interactive['action']['parameters']")
    where = "interactive['action']['parameters']"
    _text(parameters.get("flow_message_version"), f"{where}['flow_message_version']")
    _text(parameters.get("flow_cta"), f"{where}['flow_cta']", limit=30)
    if not ({"flow_id", "flow_name"} & parameters.keys()):
        raise _fail(f"The parameter {where}['flow_id'] or {where}['flow_name'] is required.")


def _check_product(action: dict[str, Any]) -> None:
    _text(action.get("catalog_id"), "interactive['action']['catalog_id']")
    _text(action.get("product_retailer_id"), "interactive['action']['product_retailer_id']")


def _check_product_list(action: dict[str, Any]) -> None:
    _text(action.get("catalog_id"), "interactive['action']['catalog_id']")
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise _fail("Param interactive['action']['sections'] must have 1 to 10 sections.")
    for s_index, section in enumerate(sections):
        where = f"interactive['action']['sections'][{s_index}]"
        items = _object(section, where).get("product_items")
        if not isinstance(items, list) or not items:
            raise _fail(f"The parameter {where}['product_items'] is required.")
        for i_index, item in enumerate(items):
            item_where = f"{where}['product_items'][{i_index}]"
            _text(
                _object(item, item_where).get("product_retailer_id"),
                f"{item_where}['product_retailer_id']",
            )
