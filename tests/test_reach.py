"""Where a crawl may go: origins, allowed hosts, the addresses it may connect to, and what a
page says when its host cannot be reached (archiver/scope/reach.py, archiver/scope/resolver.py)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError
from scrapy.settings import Settings
from twisted.internet.address import IPv4Address
from twisted.internet.defer import fail, succeed
from twisted.internet.error import ConnectionRefusedError, DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from archiver.errors import ArchiverError
from archiver.scope.reach import (
    AddressPolicy,
    HostPattern,
    address_kind,
    parse_allowed_hosts,
    reach_failure,
    same_origin,
    unreachable_reason,
)
from archiver.scope.resolver import AddressRefused, GuardedResolver, check_reach_settings
from tests.conftest import run_crawl


@pytest.mark.parametrize(
    ("start", "target", "same"),
    [
        ("https://a.example/", "https://a.example/page/2", True),
        ("https://a.example/", "https://a.example:443/page/2", True),  # the default port, said
        ("https://A.example./", "https://a.example/page/2", True),  # case, trailing dot
        ("http://a.example/", "https://a.example/page/2", True),  # the site's own upgrade
        ("https://a.example/", "http://a.example/page/2", False),  # never down to plain http
        ("http://a.example:8080/", "https://a.example/page/2", False),  # only from port 80
        ("http://127.0.0.1:18001/", "http://127.0.0.1:18002/", False),  # another service
        ("http://127.0.0.1:18001/", "http://127.0.0.1:18001/p2", True),
        ("https://a.example/", "https://b.example/", False),
        ("https://a.example/", "https://x.a.example/", False),
        ("https://a.example/", "ftp://a.example/", False),
        ("https://a.example/", "https://a.example:99999/", False),  # no such port
    ],
)
def test_same_origin_is_scheme_host_and_port(start: str, target: str, same: bool) -> None:
    assert same_origin(start, target) is same


@pytest.mark.parametrize(
    ("allowed", "target", "same"),
    [
        ("cdn.example", "https://cdn.example/p2", True),
        ("cdn.example", "http://cdn.example/p2", True),
        ("cdn.example", "https://cdn.example:8443/p2", False),  # a bare host: default ports
        ("cdn.example:8443", "https://cdn.example:8443/p2", True),
        ("cdn.example:*", "http://cdn.example:9/p2", True),
        ("https://cdn.example", "http://cdn.example/p2", False),
        ("*.a.example", "https://www.a.example/p2", True),
        ("*.a.example", "https://a.example.evil/p2", False),
        ("127.0.0.1:18002", "http://127.0.0.1:18002/", True),
        ("[::1]:8080", "http://[::1]:8080/", True),
        ("cdn.example, other.example", "https://other.example/", True),
    ],
)
def test_allowed_hosts_widen_the_site(allowed: str, target: str, same: bool) -> None:
    assert same_origin("https://a.example/", target, parse_allowed_hosts(allowed)) is same


def test_allowed_hosts_from_a_settings_list() -> None:
    assert parse_allowed_hosts(["cdn.example", " "]) == (HostPattern("cdn.example"),)
    assert parse_allowed_hosts("") == () and parse_allowed_hosts(None) == ()


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("ftp://cdn.example", "scheme must be http or https"),
        ("cdn.example/path", "no path"),
        ("cdn.example:0", "the port must be 1-65535 or *"),
        ("cdn.example:http", "the port must be 1-65535 or *"),
        ("*", "is not HOST"),
        ("a.*.example", "is not HOST"),
    ],
)
def test_a_bad_allowed_host_is_named_in_one_line(entry: str, why: str) -> None:
    with pytest.raises(ArchiverError) as error:
        parse_allowed_hosts(f"ok.example,{entry}")
    message = str(error.value)
    assert message.startswith(f"ARCHIVER_ALLOWED_HOSTS: {entry!r} is not HOST")
    assert why in message and "\n" not in message


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", None),
        ("2606:4700::6810:84e5", None),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 inside IPv6 is still itself
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT: not on the internet
        ("not-an-address", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(address) == kind


@pytest.mark.parametrize(
    ("start_urls", "address", "refused"),
    [
        (["https://a.example/"], "93.184.215.14", None),
        (["https://a.example/"], "127.0.0.1", "127.0.0.1 is a loopback address"),
        (["https://a.example/"], "10.0.0.7", "10.0.0.7 is a private address"),
        (["https://a.example/"], "169.254.169.254", "169.254.169.254 is a metadata address"),
        # a local crawl reaches local addresses, never a metadata service
        (["http://127.0.0.1:8000/"], "10.0.0.7", None),
        (["http://localhost:8000/"], "127.0.0.1", None),
        (["http://127.0.0.1:8000/"], "169.254.169.254", "169.254.169.254 is a metadata address"),
        (["http://169.254.169.254/latest/"], "169.254.169.254", None),  # asked for by address
        (["file:///srv/demo/index.html"], "127.0.0.1", "127.0.0.1 is a loopback address"),
    ],
)
def test_the_policy_follows_the_start_urls(start_urls, address, refused) -> None:
    assert AddressPolicy.for_crawl(start_urls).refusal(address) == refused


def test_the_setting_allows_every_address() -> None:
    policy = AddressPolicy.for_crawl(["https://a.example/"], any_address=True)
    assert policy.refusal("169.254.169.254") is None and policy.refusal("127.0.0.1") is None


def caused(outer: Exception, inner: Exception) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            DownloadConnectionRefusedError("Connection was refused by other side"),
            "connection refused",
        ),
        (
            caused(DownloadConnectionRefusedError("x"), ConnectionRefusedError()),
            "connection refused",
        ),
        (CannotResolveHostError("DNS lookup failed"), "DNS lookup failed"),
        (caused(RuntimeError("wrapped"), DNSLookupError("x")), "DNS lookup failed"),
        (ValueError("something else"), None),
    ],
)
def test_what_an_unreachable_host_is_called(exc: Exception, reason: str | None) -> None:
    assert unreachable_reason(exc) == reason


def test_a_refused_address_is_named_for_the_page() -> None:
    refused = {"listing.example": "127.0.0.1 is a loopback address"}
    line = reach_failure(CannotResolveHostError("x"), "http://Listing.example:81/a", refused)
    assert line == (
        "cannot reach Listing.example:81: 127.0.0.1 is a loopback address, which this crawl "
        "may not connect to (set ARCHIVER_ALLOW_PRIVATE_ADDRESSES=True to allow it)"
    )
    assert reach_failure(CannotResolveHostError("x"), "http://gone.example/", refused) == (
        "cannot reach gone.example: DNS lookup failed"
    )
    assert reach_failure(ValueError("x"), "http://gone.example/", refused) is None


# --- The resolver: the address connected to is the address checked --------------------------


@implementer(IResolverSimple)
class Upstream:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def getHostByName(self, name: str, timeout=()):
        if name in self.names:
            return succeed(self.names[name])
        return fail(DNSLookupError(name))


def resolve(resolver: GuardedResolver, name: str) -> str | BaseException:
    results: list = []
    resolver.getHostByName(name).addBoth(results.append)
    [result] = results
    return getattr(result, "value", result)


@pytest.fixture
def guard(monkeypatch):
    monkeypatch.setattr(GuardedResolver, "refused", {})
    monkeypatch.setattr(GuardedResolver, "policy", AddressPolicy())
    upstream = Upstream({"public.example": "93.184.215.14", "rebound.example": "127.0.0.1"})
    return GuardedResolver(reactor=None, upstream=upstream)


def test_the_resolver_passes_public_addresses_and_refuses_the_rest(guard) -> None:
    assert resolve(guard, "public.example") == "93.184.215.14"
    refused = resolve(guard, "rebound.example")
    # A DNSLookupError to Twisted: the connection has no address to connect to.
    assert isinstance(refused, AddressRefused) and isinstance(refused, DNSLookupError)
    assert GuardedResolver.refused == {"rebound.example": "127.0.0.1 is a loopback address"}
    assert isinstance(resolve(guard, "gone.example"), DNSLookupError)


def test_the_resolver_follows_the_crawls_policy(guard) -> None:
    GuardedResolver.policy = AddressPolicy.for_crawl(["http://127.0.0.1:8000/"])
    assert resolve(guard, "rebound.example") == "127.0.0.1"


def test_a_hostname_resolver_upstream_has_its_refused_addresses_dropped(guard) -> None:
    class Receiver:
        addresses: ClassVar[list[str]] = []

        def resolutionBegan(self, resolution) -> None:
            pass

        def addressResolved(self, address) -> None:
            self.addresses.append(address.host)

        def resolutionComplete(self) -> None:
            pass

    class Upstream6:
        def resolveHostName(self, receiver, name, port=0, types=None, semantics="TCP"):
            receiver.resolutionBegan(None)
            for host in ("127.0.0.1", "93.184.215.14"):
                receiver.addressResolved(IPv4Address("TCP", host, port))
            receiver.resolutionComplete()
            return receiver

    guard.upstream = Upstream6()
    receiver = Receiver()
    guard.resolveHostName(receiver, "mixed.example", 80)
    assert receiver.addresses == ["93.184.215.14"]
    assert GuardedResolver.refused["mixed.example"] == "127.0.0.1 is a loopback address"


# --- Bad settings: one line, before anything is crawled --------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ARCHIVER_ALLOWED_HOSTS",
            "ftp://cdn.example",
            "ARCHIVER_ALLOWED_HOSTS: 'ftp://cdn.example' is not HOST",
        ),
        (
            "ARCHIVER_ALLOW_PRIVATE_ADDRESSES",
            "maybe",
            "ARCHIVER_ALLOW_PRIVATE_ADDRESSES: 'maybe' is not True or False",
        ),
        (
            "ARCHIVER_DNS_RESOLVER",
            "no.such.Resolver",
            "ARCHIVER_DNS_RESOLVER: 'no.such.Resolver' cannot be imported",
        ),
        ("ARCHIVER_DNS_RESOLVER", "os.path", "ARCHIVER_DNS_RESOLVER: 'os.path' is not a resolver"),
    ],
)
def test_bad_reach_settings_are_named(name: str, value: str, message: str) -> None:
    settings = Settings()
    settings.setmodule("archiver.settings")
    check_reach_settings(settings)  # the defaults are fine
    settings.set(name, value)
    with pytest.raises(ArchiverError) as error:
        check_reach_settings(settings)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_crawl_with_a_bad_reach_setting_ends_in_one_line_and_publishes_nothing(tmp_path) -> None:
    result = run_crawl("-s", "ARCHIVER_ALLOWED_HOSTS=cdn.example/x", data_dir=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(  # "scrapy: error: ..." (python -m)
            " error: ARCHIVER_ALLOWED_HOSTS: 'cdn.example/x' is not HOST, HOST:PORT or "
            "SCHEME://HOST[:PORT] (no path)"
        )
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "snapshots").exists()
