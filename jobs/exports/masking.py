"""Masking of sensitive account data in exports: enough to recognise a record, not to use it.

SSN ``***-**-1234``; phone ``***-***-1234``; email ``j***@example.com``; birth date
``****-**-**``. Every sensitive column is masked unless the export unmasks it, which needs
the ``unmask_sensitive_data`` permission (checked by the service).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _last4(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    return digits[-4:]


def mask_ssn(value: Any) -> str:
    if value in (None, ""):
        return ""
    return f"***-**-{_last4(str(value))}"


def mask_phone(value: Any) -> str:
    if value in (None, ""):
        return ""
    return f"***-***-{_last4(str(value))}"


def mask_email(value: Any) -> str:
    """The first letter and the domain of an address; what is not an address is starred."""
    if value in (None, ""):
        return ""
    text = str(value)
    local, at, domain = text.partition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_birth_date(value: Any) -> str:
    return "" if value in (None, "") else "****-**-**"


#: Sensitive column key → its mask.
MASKS: dict[str, Callable[[Any], str]] = {
    "ssn": mask_ssn,
    "phone": mask_phone,
    "email": mask_email,
    "birth_date": mask_birth_date,
}
