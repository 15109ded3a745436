"""Name resolution that refuses addresses a crawl must not reach, at connect time.

A check of the URL's host before the request is not enough: a public name can resolve to
127.0.0.1 or 169.254.169.254 (DNS rebinding), and a second lookup at connect time can
answer differently from the first. Twisted connects to the very address its resolver
returns, so the check is made there: this resolver (Scrapy's ``TWISTED_DNS_RESOLVER``)
asks the resolver ``ARCHIVER_DNS_RESOLVER`` names (Scrapy's caching one by default) and
refuses every address ``archiver.scope.reach.AddressPolicy`` forbids, so the connection has
nothing to connect to. IP literals go through it too.

Refusals are remembered by host name (``refused``), so that the page and the log can say
why the host could not be reached instead of a bare "DNS lookup failed".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
    IResolverSimple,
)
from zope.interface import implementer

from archiver.errors import ArchiverError
from archiver.scope.reach import AddressPolicy, parse_allowed_hosts

logger = logging.getLogger(__name__)

UPSTREAM_DEFAULT = "scrapy.resolver.CachingThreadedResolver"


class AddressRefused(DNSLookupError):
    """The name resolved only to addresses this crawl may not connect to."""


class NotFetched(IgnoreRequest):
    """A request not sent because its host cannot be reached, may not be, or is off limits
    (robots.txt unavailable); the message says why, whole, for ``pages_failed``."""


@implementer(IResolutionReceiver)
class _Filtering:
    """Passes on the addresses the policy allows (for an ``IHostnameResolver`` upstream)."""

    def __init__(self, guard: GuardedResolver, receiver: IResolutionReceiver, name: str):
        self.guard, self.receiver, self.name = guard, receiver, name

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        if self.guard.allowed(self.name, getattr(address, "host", "")):
            self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()


@implementer(IResolverSimple, IHostnameResolver)
class GuardedResolver:
    # One reactor per process, so one resolver and one policy per process. The policy is
    # set on the class by the crawl once it knows its start URLs
    # (``archiver.middlewares.siteguard``): Scrapy may build the crawl before it installs
    # the resolver, or after. Until then, only public addresses.
    installed: ClassVar[GuardedResolver | None] = None
    policy: ClassVar[AddressPolicy] = AddressPolicy()
    refused: ClassVar[dict[str, str]] = {}  # host name -> why its address was refused

    def __init__(self, reactor: Any, upstream: Any) -> None:
        self.reactor = reactor
        self.upstream = upstream

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        path = crawler.settings.get("ARCHIVER_DNS_RESOLVER") or UPSTREAM_DEFAULT
        upstream = build_from_crawler(load_object(path), crawler, reactor=reactor)
        return cls(reactor, upstream)

    def install_on_reactor(self) -> None:
        if IResolverSimple.providedBy(self.upstream):
            self.reactor.installResolver(self)
        else:
            self.reactor.installNameResolver(self)
        GuardedResolver.installed = self

    def allowed(self, name: str, address: str) -> bool:
        name = name.lower()
        why = self.policy.refusal(address)
        if why is None:
            return True
        if self.refused.get(name) != why:
            logger.warning("not connecting to %s: %s", name, why)
        self.refused[name] = why
        return False

    # IResolverSimple: Scrapy's default path (Twisted wraps it for its endpoints).
    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        def check(address: str) -> str:
            if not self.allowed(name, address):
                raise AddressRefused(f"{name}: {self.refused[name.lower()]}")
            return address

        return self.upstream.getHostByName(name, timeout).addCallback(check)

    # IHostnameResolver: when ARCHIVER_DNS_RESOLVER names one (IPv6, e.g.
    # scrapy.resolver.CachingHostnameResolver).
    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        return self.upstream.resolveHostName(
            _Filtering(self, resolutionReceiver, hostName),
            hostName,
            portNumber,
            addressTypes,
            transportSemantics,
        )


def check_reach_settings(settings: Any) -> None:
    """``ARCHIVER_ALLOWED_HOSTS``, ``ARCHIVER_ALLOW_PRIVATE_ADDRESSES`` and
    ``ARCHIVER_DNS_RESOLVER`` readable, before anything is crawled; else an
    ``ArchiverError`` in one line naming the setting, its value and what it takes."""
    parse_allowed_hosts(settings.getlist("ARCHIVER_ALLOWED_HOSTS"))
    value = settings.get("ARCHIVER_ALLOW_PRIVATE_ADDRESSES")
    try:
        settings.getbool("ARCHIVER_ALLOW_PRIVATE_ADDRESSES")
    except ValueError as exc:
        raise ArchiverError(
            f"ARCHIVER_ALLOW_PRIVATE_ADDRESSES: {value!r} is not True or False"
        ) from exc
    path = settings.get("ARCHIVER_DNS_RESOLVER") or UPSTREAM_DEFAULT
    try:
        resolver = load_object(path)
    except (ImportError, NameError, ValueError, AttributeError) as exc:
        why = " ".join(str(exc).split())  # one line, whatever the value held
        raise ArchiverError(
            f"ARCHIVER_DNS_RESOLVER: {path!r} cannot be imported ({why}); name a resolver "
            f"class such as {UPSTREAM_DEFAULT}"
        ) from exc
    if not any(hasattr(resolver, name) for name in ("getHostByName", "resolveHostName")):
        raise ArchiverError(
            f"ARCHIVER_DNS_RESOLVER: {path!r} is not a resolver (no getHostByName or "
            f"resolveHostName); name a resolver class such as {UPSTREAM_DEFAULT}"
        )
