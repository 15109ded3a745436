"""Where a crawl may go, and what to say when it cannot get there.

A listing is archived from its own site: a next link or a redirect that leads to another
scheme, host or port (an internal service on the same machine is just another port) is not
followed, unless ``ARCHIVER_ALLOWED_HOSTS`` names it. And whatever a name resolves to, the
crawl connects only to public addresses: loopback, private, link-local and cloud metadata
addresses are refused (``archiver.scope.resolver`` checks the very address connected to), unless
the crawl itself starts at such an address (a local crawl) or
``ARCHIVER_ALLOW_PRIVATE_ADDRESSES`` says so.

Everything here is pure: no network, no Scrapy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from archiver.errors import ArchiverError

DEFAULT_PORTS = {"http": 80, "https": 443}
# Cloud instance metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba):
# the first thing a request forged against a crawler goes for.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
LOCAL_NAMES = ("localhost",)  # RFC 6761: always loopback, never asked of a DNS server


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port, with the scheme's default port filled in."""

    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an http(s) URL; None for anything else or an unreadable port."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        try:
            port = parts.port
        except ValueError:  # "http://host:99999/": no such port, no such site
            return None
        return cls(scheme, parts.hostname.rstrip("."), port or DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class HostPattern:
    """One entry of ``ARCHIVER_ALLOWED_HOSTS``: ``HOST``, ``HOST:PORT``, ``HOST:*``,
    ``SCHEME://HOST[:PORT]``; ``*.HOST`` for every subdomain of HOST."""

    host: str
    scheme: str | None = None  # None: http or https
    port: int | None = None  # None: the scheme's default port; -1: any port
    subdomains: bool = False

    def matches(self, origin: Origin) -> bool:
        if self.scheme is not None and origin.scheme != self.scheme:
            return False
        if self.port is None and origin.port != DEFAULT_PORTS[origin.scheme]:
            return False
        if self.port not in (None, -1) and origin.port != self.port:
            return False
        if self.subdomains:
            return origin.host.endswith("." + self.host)
        return origin.host == self.host


def parse_allowed_hosts(value: str | Iterable[str] | None) -> tuple[HostPattern, ...]:
    """``ARCHIVER_ALLOWED_HOSTS`` (a list, or one comma-separated string) as patterns; a bad
    entry is an ``ArchiverError`` naming it."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(_pattern(item.strip()) for item in items if item and item.strip())


def _pattern(text: str) -> HostPattern:
    what = f"ARCHIVER_ALLOWED_HOSTS: {text!r} is not HOST, HOST:PORT or SCHEME://HOST[:PORT]"
    scheme = None
    rest = text
    if "://" in text:
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ArchiverError(f"{what} (scheme must be http or https)")
    if "/" in rest:
        raise ArchiverError(f"{what} (no path)")
    port: int | None = None
    host = rest
    if rest.startswith("["):  # an IPv6 literal: [::1] or [::1]:8080
        host, _, after = rest[1:].partition("]")
        if after:
            if not after.startswith(":"):
                raise ArchiverError(what)
            port = _port(after[1:], what)
    elif rest.count(":") == 1:
        host, _, number = rest.partition(":")
        port = _port(number, what)
    subdomains = host.startswith("*.")
    host = host.removeprefix("*.").lower().rstrip(".")
    if not host or "*" in host or " " in host:
        raise ArchiverError(what)
    return HostPattern(host=host, scheme=scheme, port=port, subdomains=subdomains)


def _port(number: str, what: str) -> int:
    if number == "*":
        return -1
    if not number.isdigit() or not 0 < int(number) < 65536:
        raise ArchiverError(f"{what} (the port must be 1-65535 or *)")
    return int(number)


def same_origin(start_url: str, url: str, allowed: Iterable[HostPattern] = ()) -> bool:
    """Whether ``url`` is on the site of ``start_url``: the same scheme, host and port, or
    the same host moved from http on port 80 to https on port 443 (a site's own upgrade), or
    an origin ``allowed`` names."""
    start, target = Origin.of(start_url), Origin.of(url)
    if start is None or target is None:
        return False
    if target == start:
        return True
    upgrade = Origin("https", start.host, DEFAULT_PORTS["https"])
    if start.scheme == "http" and start.port == DEFAULT_PORTS["http"] and target == upgrade:
        return True
    return any(pattern.matches(target) for pattern in allowed)


def same_site(start_url: str, url: str, allowed: Iterable[HostPattern] = ()) -> bool:
    """Pagination stays on the start URL's origin (scheme, host and port: another port of
    the same host is another service) over http(s), unless ``allowed``
    (``ARCHIVER_ALLOWED_HOSTS``) widens it; from a local file, it stays in that file's
    folder (a page cannot lead the crawl to read ``/etc/passwd``)."""
    start, target = urlsplit(start_url), urlsplit(url)
    if start.scheme == "file":
        if target.scheme != "file" or target.netloc not in ("", "localhost"):
            return False
        folder = Path(unquote(start.path)).resolve().parent
        return Path(unquote(target.path)).resolve().is_relative_to(folder)
    return same_origin(start_url, url, allowed)


def address_kind(address: str) -> str | None:
    """What makes ``address`` one a crawler must not reach on its own, or None when it is
    public: ``metadata``, ``loopback``, ``link-local``, ``private``, ``unspecified``,
    ``reserved``. ``address`` is an IP literal; anything else is None."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip in METADATA_ADDRESSES:
        return "metadata"
    for kind in ("unspecified", "loopback", "link_local", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # shared (CGNAT), documentation, benchmarking, multicast ...
        return "reserved"
    return None


def is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == name or host.endswith("." + name) for name in LOCAL_NAMES)


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses a crawl may connect to.

    ``local`` is true when a start URL is itself at a loopback, private or link-local address
    (or ``localhost``): a local crawl may reach such addresses, never a metadata service.
    ``any_address`` (``ARCHIVER_ALLOW_PRIVATE_ADDRESSES``) allows every address.
    """

    local: bool = False
    any_address: bool = False

    @classmethod
    def for_crawl(cls, start_urls: Iterable[str], any_address: bool = False) -> AddressPolicy:
        local = False
        for url in start_urls:
            host = urlsplit(url).hostname or ""
            kind = address_kind(host)
            if is_local_name(host) or kind not in (None, "metadata"):
                local = True
            if kind == "metadata":  # the user asked for it by its address: so be it
                any_address = True
        return cls(local=local, any_address=any_address)

    def refusal(self, address: str) -> str | None:
        """Why the crawl may not connect to ``address`` (``a loopback address``), or None."""
        kind = address_kind(address)
        if kind is None or self.any_address:
            return None
        if self.local and kind != "metadata":
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        return f"{address} is {article} {kind} address"


def refused_line(host: str, why: str) -> str:
    """The one line a page or the log gets for an address refused."""
    return (
        f"cannot reach {host}: {why}, which this crawl may not connect to "
        "(set ARCHIVER_ALLOW_PRIVATE_ADDRESSES=True to allow it)"
    )


# --- What happened when a host could not be reached ------------------------------------------

# Scrapy's download errors (2.19 wraps Twisted's) and Twisted's own, by class name: what each
# means, said as a person would. Matched over the exception and its causes.
_UNREACHABLE = {
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "CannotResolveHostError": "DNS lookup failed",
    "DNSLookupError": "DNS lookup failed",
    "NoRouteError": "no route to host",
    "TCPTimedOutError": "connection timed out",
    "ConnectingCancelledError": "connection timed out",
}


def unreachable_reason(exc: BaseException) -> str | None:
    """``connection refused``, ``DNS lookup failed`` ...: why a host could not be reached at
    all, when that is what ``exc`` (or an exception it was raised from) says; else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _UNREACHABLE.get(type(current).__name__)
        if reason is not None:
            return reason
        current = current.__cause__ or current.__context__
    return None


def netloc_of(url: str) -> str:
    """``host:port`` as the URL says it, for messages."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


def reach_failure(exc: BaseException, url: str, refused: Mapping[str, str]) -> str | None:
    """The line a page gets when its host could not be reached (``cannot reach
    example.org: DNS lookup failed``), naming the refused address when the resolver refused
    it (``refused``: host name -> why); None when ``exc`` is about something else."""
    why = unreachable_reason(exc)
    if why is None:
        return None
    host = (urlsplit(url).hostname or "").lower()
    if why == "DNS lookup failed" and host in refused:
        return refused_line(netloc_of(url), refused[host])
    return f"cannot reach {netloc_of(url)}: {why}"
