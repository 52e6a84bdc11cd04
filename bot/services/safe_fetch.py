"""Fetching a URL that came from outside (a Viber callback's media URL) without letting it reach inside the network.

A callback is signed by Viber, but the URL in it is whatever the sender's client put there, and the mail worker
attaches what it fetched to an e-mail that leaves the company: a URL pointing at `127.0.0.1:8080/metrics`, a
database's HTTP port or a cloud metadata address would be read from inside and mailed out. So:

- only hosts on an allow-list are fetched (`VIBER_MEDIA_HOSTS`: exact names, or `*.example.com` for any name under
  it), over http(s), on their default ports unless the entry names a port;
- the address every name resolves to must be a public one: no loopback, private, link-local, shared, reserved or
  multicast address. The check is made in the resolver that aiohttp connects through, so the address checked is
  the address connected to (a name that resolves to a public address once and a private one the next time gains
  nothing), and an address given literally in the URL is checked the same way;
- redirects are followed by hand, at most `MAX_REDIRECTS`, and every hop is checked again (host and address);
- the whole fetch has a time limit and the body a size limit, counted as it streams in (a wrong or missing
  Content-Length changes nothing).

What is refused raises `FetchRefused` with the reason, which is logged (never the URL: it may carry a token).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Exception):
    """The URL (or a redirect on the way) points somewhere mila must not fetch from."""


class TooLarge(Exception):
    """The body is larger than the limit."""


def forbidden(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Whether connecting to `address` could reach inside the network (unless `allowed` lists it)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address in network for network in allowed):
        return False
    return not address.is_global or address.is_multicast


class GuardedResolver(AbstractResolver):
    """Resolves through another resolver and refuses a name when any address it resolves to is forbidden."""

    def __init__(self, inner: AbstractResolver | None = None, allowed: Sequence[Network] = ()) -> None:
        self.inner = inner or DefaultResolver()
        self.allowed = tuple(allowed)

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> (
        list[ResolveResult]
    ):  # fmt: skip
        results = await self.inner.resolve(host, port, family)
        for result in results:
            if forbidden(ipaddress.ip_address(result["host"].split("%", 1)[0]), self.allowed):
                raise FetchRefused("the host resolves to an address inside the network")
        return results

    async def close(self) -> None:
        await self.inner.close()


@dataclass(frozen=True, slots=True)
class HostRule:
    """One entry of the allow-list: `name` exactly, or (`any_below`) any name under it; `port` None: the default."""

    name: str
    any_below: bool
    port: int | None

    @classmethod
    def parse(cls, entry: str) -> HostRule:
        entry = entry.strip().lower()
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        any_below = host.startswith("*.")
        return cls(host.removeprefix("*."), any_below, int(port) if port else None)

    def matches(self, host: str, port: int | None) -> bool:
        name_ok = host.endswith("." + self.name) if self.any_below else host == self.name
        return name_ok and port == self.port


def parse_hosts(value: str | Iterable[str]) -> tuple[HostRule, ...]:
    entries = value.split(",") if isinstance(value, str) else value
    return tuple(HostRule.parse(entry) for entry in entries if entry.strip())


class SafeFetcher:
    def __init__(
        self,
        hosts: Sequence[HostRule],
        *,
        max_bytes: int,
        timeout_seconds: float,
        resolver: AbstractResolver | None = None,
        allowed_networks: Sequence[Network] = (),
    ) -> None:
        """`allowed_networks` exempts addresses from the network check: for a test double that listens on
        loopback, or a media proxy of the operator's own; `resolver` answers the names (tests map them)."""
        self.hosts = tuple(hosts)
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.resolver = resolver
        self.allowed_networks = tuple(allowed_networks)

    def check_url(self, url: str) -> None:
        """Raise `FetchRefused` unless the URL is http(s) on an allowed host (and port)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused("not an http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise FetchRefused("a URL with credentials")
        try:
            port = parts.port
        except ValueError:
            raise FetchRefused("a URL with a malformed port") from None
        if port == {"http": 80, "https": 443}[parts.scheme]:
            port = None
        host = parts.hostname.rstrip(".").lower()
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and forbidden(literal, self.allowed_networks):
            raise FetchRefused("an address inside the network")
        if not any(rule.matches(host, port) for rule in self.hosts):
            raise FetchRefused("a host that is not on the allow-list")

    async def get(self, url: str) -> bytes:
        """The body at `url`, following at most `MAX_REDIRECTS` checked redirects, within the limits."""
        resolver = GuardedResolver(self.resolver, self.allowed_networks)
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
            for _ in range(MAX_REDIRECTS + 1):
                self.check_url(url)
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchRefused("a redirect without a Location")
                        url = urljoin(url, location)
                        continue
                    response.raise_for_status()
                    return await self._body(response)
        raise FetchRefused("too many redirects")

    async def _body(self, response: aiohttp.ClientResponse) -> bytes:
        return await read_limited(response, self.max_bytes)


async def read_limited(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole body, or `TooLarge` as soon as it passes `max_bytes` (one `read(n)` may return only what has
    arrived so far: a body is read to its end in chunks)."""
    if (response.content_length or 0) > max_bytes:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
