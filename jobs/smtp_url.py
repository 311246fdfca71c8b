"""``BULKDESK_SMTP_URL``: where Bulkdesk's emails go, read and checked once."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from jobs.errors import ConfigError

DEFAULT_PORT = 25
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_EXPECTED = "expected smtp://[user:password@]host:port, with ?starttls=1 for STARTTLS"


@dataclass(frozen=True)
class SmtpTarget:
    """Where emails go, read from ``BULKDESK_SMTP_URL``."""

    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False

    @property
    def address(self) -> str:
        """``host:port``, as people name a server."""
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"smtp://{self.address}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read ``smtp://[user:password@]host:port[?starttls=1]``; user and password URL-encoded.

    Raises:
      ConfigError: naming BULKDESK_SMTP_URL and what is wrong with it (never the password).
    """
    shown = _without_password(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"BULKDESK_SMTP_URL {shown!r} is not usable ({exc}); {_EXPECTED}"
        ) from None
    if parts.scheme.lower() != "smtp":
        raise ConfigError(f"BULKDESK_SMTP_URL {shown!r} is not an smtp:// URL; {_EXPECTED}")
    if not parts.hostname:
        raise ConfigError(f"BULKDESK_SMTP_URL {shown!r} names no host; {_EXPECTED}")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigError(
            f"BULKDESK_SMTP_URL {shown!r} has a path; an SMTP URL is only a host and port"
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ConfigError(
            f"BULKDESK_SMTP_URL {shown!r} has an unknown option {unknown[0]!r}; "
            "the only one is starttls=1"
        )
    flag = query.get("starttls", ["0"])[-1].strip().lower()
    if flag not in _TRUE + _FALSE:
        raise ConfigError(f"BULKDESK_SMTP_URL {shown!r}: starttls is 1 or 0, not {flag!r}")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"BULKDESK_SMTP_URL {shown!r}: the port is 1 to 65535, not {port}")
    return SmtpTarget(
        host=parts.hostname,
        port=port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        starttls=flag in _TRUE,
    )


def _without_password(url: str) -> str:
    """The URL as it can be shown: any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].partition(":")[0]
        return parts._replace(netloc=f"{user}:***@{netloc[2]}").geturl()
    except ValueError:
        return "smtp://…" if "@" in url else url
