"""Where webhooks may go. HTTPS only outside development (``GATEWAY_WEBHOOK_ALLOW_HTTP``
for a test rig), and never to a loopback, private, link-local or otherwise internal
address unless ``GATEWAY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` says so: a subscription must
not turn the gateway into a way into the internal network (SSRF). The address is checked
when the subscription is made and again before every delivery (a name can be re-pointed).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class UrlRules:
    allow_http: bool
    allow_private: bool
    # At creation: try a TCP connection, so a typo is a 422 rather than days of retries.
    check_reachable: bool = True
    connect_timeout_seconds: float = 3.0


class RefusedUrl(Exception):
    """Why a URL cannot receive webhooks, in a sentence for the admin."""


def is_internal(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_internal(address.ipv4_mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _parts(url: str, rules: UrlRules) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise RefusedUrl("The URL must start with https://.")
    if parts.scheme == "http" and not rules.allow_http:
        raise RefusedUrl("The URL must use https:// (plain http is allowed only in development).")
    if not parts.hostname:
        raise RefusedUrl("The URL has no host name.")
    if parts.username or parts.password:
        raise RefusedUrl("The URL must not carry credentials; verify the signature instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RefusedUrl("The URL's port is not a number between 1 and 65535.") from error
    return parts.hostname, port


async def resolve(host: str, port: int) -> list[IpAddress]:
    with contextlib.suppress(ValueError):  # an address already: nothing to look up
        return [ipaddress.ip_address(host)]
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedUrl(f"The host {host!r} cannot be resolved: check the name.") from error
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


async def check_destination(url: str, rules: UrlRules) -> None:
    """Before a delivery: the URL is allowed and its host resolves to allowed addresses."""
    host, port = _parts(url, rules)
    addresses = await resolve(host, port)
    if not rules.allow_private:
        internal = sorted({str(a) for a in addresses if is_internal(a)})
        if internal:
            raise RefusedUrl(
                f"The host {host!r} resolves to an internal address ({', '.join(internal)}); "
                "webhooks go only to public addresses."
            )


async def check_new_url(url: str, rules: UrlRules) -> None:
    """For a new or changed subscription: allowed, resolvable, public, and reachable."""
    await check_destination(url, rules)
    if not rules.check_reachable:
        return
    host, port = _parts(url, rules)
    try:
        async with asyncio.timeout(rules.connect_timeout_seconds):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as error:
        raise RefusedUrl(
            f"Nothing answers at {host}:{port} ({type(error).__name__}); check the URL and "
            "that the endpoint is up."
        ) from error
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
