"""The national portal's field formats, read defensively: each reader raises :class:`Invalid`
naming the field (the dossier's index is added by the caller). Dates are ``yyyyMMddHHmmss`` in
Asia/Ho_Chi_Minh ([OCPS] ``DVCQGIntegrationActionTerm.convertDate2String``); C#'s ISO form
([CS] ``HoSoBoSung.NgayBoSung``) is read too. Sources: see services/ingest/dvcqg.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
MAX_ID = 200
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([+-]\d{2}:\d{2}|Z)?$"
)


class Invalid(ValueError):
    """One field of one item breaks the format (reported with the item's index)."""


def text(item: Mapping[str, Any], name: str, required: bool = True) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{name} is required")
    if len(value) > MAX_ID:
        raise Invalid(f"{name} is longer than {MAX_ID} characters")
    return value


def code(item: Mapping[str, Any], name: str, allowed: range, required: bool = True) -> int | None:
    """A numeric code, sent as a string ("2") or a number (2)."""
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return None
    number: int | None = None
    digits = value.strip() if isinstance(value, str) else ""
    if 0 < len(digits) <= 9 and digits.isascii() and digits.isdigit():
        number = int(digits)  # (ASCII: "²".isdigit() is true, yet int() refuses it)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    if number is None:
        raise Invalid(f"{name} must be a number code, not {str(value)[:20]!r}")
    if number not in allowed:
        raise Invalid(f"unknown {name} {number} (expected {allowed.start}–{allowed.stop - 1})")
    return number


def flag(item: Mapping[str, Any], name: str) -> bool:
    return code(item, name, range(0, 2), required=False) == 1


def moment(item: Mapping[str, Any], name: str, required: bool = False) -> datetime | None:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh ([OCPS] convertDate2String); ISO 8601 also read."""
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string yyyyMMddHHmmss")
    if len(value) == 14 and value.isascii() and value.isdigit():  # the usual form, no regex
        try:
            return datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]),
                int(value[8:10]), int(value[10:12]), int(value[12:]), tzinfo=LOCAL,
            )  # fmt: skip
        except ValueError:
            raise Invalid(f"{name} {value!r} is not a date") from None
    match = _COMPACT.match(value) or _ISO.match(value)
    if match is None:
        raise Invalid(f"{name} {value[:30]!r} is not a date yyyyMMddHHmmss")
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        zone = match.groups()[6] if match.re is _ISO else None
        local = datetime(year, month, day, hour, minute, second, tzinfo=LOCAL)
    except ValueError:
        raise Invalid(f"{name} {value[:30]!r} is not a date") from None
    if zone:
        offset = timedelta() if zone == "Z" else _offset(zone)
        local = local.replace(tzinfo=timezone(offset)).astimezone(LOCAL)
    return local


def _offset(zone: str) -> timedelta:
    sign = -1 if zone[0] == "-" else 1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))


def objects(item: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Invalid(f"{name} must be an array of objects")
    return value
