# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Link, address and route helpers on top of pyroute2, plus the naming rules of container links.

Private to this collection (the leading underscore): no stability promise.

Two parts:
- pure functions (no I/O): names, MACs, addresses; they raise ValueError naming the field
  (interface names and integers are validated by ``_ovs.validate_name`` / ``validate_int``);
- netlink readers/writers; every one takes an open pyroute2 ``IPRoute`` (host or network namespace),
  so a caller opens each namespace once (see ``open_ns``).

Works with pyroute2 0.7 (Debian 12's python3-pyroute2) and 0.9.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import traceback

try:
    from pyroute2 import IPRoute
    from pyroute2.netns import setns
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):  # placeholder so `except NetlinkError` stays valid
        pass
else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

_MAC_RE = re.compile(r'^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$')
MTU_MIN = 68       # smallest MTU IPv4 allows
MTU_MIN_IPV6 = 1280
MTU_MAX = 65535
IFF_UP = 0x1
ENODEV = 19


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------

def _digest(*parts):
    # NUL cannot appear in an interface name or a container id, so the parts cannot run together.
    return hashlib.sha256('\0'.join(parts).encode('utf-8')).digest()


def host_ifname(identity, ifname, prefix='vo'):
    """Stable host-side veth name: ``vo`` + 12 hex digits of sha256(identity, ifname) (14 chars).

    ``identity`` is the full container id (or ``netns:NAME`` / ``pid:N``), so the same container
    and interface always give the same name, and a restarted container finds its OVS port again.
    """
    return prefix + _digest(identity, ifname).hex()[:12]


def derive_mac(identity, ifname):
    """Stable MAC for the container-side link: locally administered (bit 1 set), unicast (bit 0 clear)."""
    octets = bytearray(_digest('mac', identity, ifname)[:6])
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ':'.join('%02x' % octet for octet in octets)


def normalise_mac(value, field='mac'):
    """Return a unicast MAC as ``aa:bb:cc:dd:ee:ff``, else raise ValueError naming ``field``."""
    text = str(value).strip().lower()
    if not _MAC_RE.match(text):
        raise ValueError('%s: %r is not a MAC address (aa:bb:cc:dd:ee:ff)' % (field, value))
    digits = re.sub('[:-]', '', text)
    mac = ':'.join(digits[i:i + 2] for i in range(0, 12, 2))
    if int(digits[:2], 16) & 0x01:
        raise ValueError('%s: %s is a multicast address; an interface needs a unicast one' % (field, mac))
    if digits == '0' * 12:
        raise ValueError('%s: 00:00:00:00:00:00 is not a usable address' % field)
    return mac


def normalise_interface_address(value, field='address'):
    """Return 'ADDR/PREFIX' normalised (IPv4 or IPv6); the prefix is required, as in pipework."""
    text = str(value).strip()
    if '/' not in text:
        raise ValueError('%s: %r needs a prefix length (for example %s/24 or %s/64)'
                         % (field, value, text, text))
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError('%s: %r is not an IPv4/IPv6 address with prefix' % (field, value))
    ip, net = iface.ip, iface.network
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        raise ValueError('%s: %r is not a unicast host address' % (field, value))
    # A host address equal to the network or broadcast address of its subnet is a typo
    # (10.0.0.0/24 for 10.0.0.1/24); /31 and /32 (and IPv6) have no such addresses.
    if ip.version == 4 and net.prefixlen < 31 and ip in (net.network_address, net.broadcast_address):
        raise ValueError('%s: %r is the %s address of its subnet' % (
            field, value, 'network' if ip == net.network_address else 'broadcast'))
    return str(iface)


def normalise_addresses(values, field='address'):
    """Normalise a list of interface addresses; refuse duplicates. Returns a sorted list."""
    result = []
    for value in values:
        address = normalise_interface_address(value, field)
        if address in result:
            raise ValueError('%s: %s is given twice' % (field, address))
        result.append(address)
    return sorted(result, key=_address_key)


def _address_key(address):
    iface = ipaddress.ip_interface(address)
    return (iface.version, iface.ip, iface.network.prefixlen)


def normalise_gateways(values, field='gateway'):
    """Return {4: 'a.b.c.d', 6: 'x::y'} from a list of at most one gateway per family."""
    result = {}
    for value in values:
        try:
            ip = ipaddress.ip_address(str(value).strip())
        except ValueError:
            raise ValueError('%s: %r is not an IPv4/IPv6 address (no prefix)' % (field, value))
        if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
            raise ValueError('%s: %r is not a unicast address' % (field, value))
        if ip.version in result:
            raise ValueError('%s: more than one IPv%d gateway given' % (field, ip.version))
        result[ip.version] = str(ip)
    return result


def needs_onlink(gateway, addresses):
    """True if no address's subnet holds ``gateway`` (then the route needs the onlink flag,
    as pipework's /32 route to the gateway did). IPv6 link-local gateways are always on link."""
    ip = ipaddress.ip_address(gateway)
    if ip.version == 6 and ip.is_link_local:
        return False
    return not any(ip in ipaddress.ip_interface(a).network for a in addresses
                   if ipaddress.ip_interface(a).version == ip.version)


def is_link_local(address):
    """True for an IPv6 link-local interface address (the kernel adds those by itself)."""
    iface = ipaddress.ip_interface(address)
    return iface.version == 6 and iface.ip.is_link_local


# ---------------------------------------------------------------------------------------------
# Netlink (pyroute2)
# ---------------------------------------------------------------------------------------------

def open_ns(path=None):
    """IPRoute in the host namespace (path None) or in the namespace at ``path`` (never created).

    A netlink socket belongs to the namespace it is opened in, so the thread enters the target
    namespace only while the socket is made. pyroute2 0.9 could do this with
    ``IPRoute(netns=path)``, 0.7 (Debian 12) cannot.
    """
    if path is None:
        return IPRoute()
    with _in_netns(path):
        return IPRoute()


@contextlib.contextmanager
def _in_netns(path):
    """Run the body with the calling thread in the network namespace at ``path``."""
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            setns(target)
            try:
                yield
            finally:
                setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def link_state(ipr, ifname=None, index=None):
    """Return a plain dict describing one link, or None if it does not exist."""
    try:
        if index is not None:
            msg = ipr.link('get', index=index)[0]
        else:
            msg = ipr.link('get', ifname=ifname)[0]
    except NetlinkError as exc:
        if exc.code == ENODEV:
            return None
        raise
    return _link_dict(msg)


def _link_dict(msg):
    mode = msg.get_nested('IFLA_LINKINFO', 'IFLA_INFO_DATA', 'IFLA_MACVLAN_MODE')
    return {
        'index': msg['index'],
        'ifname': msg.get_attr('IFLA_IFNAME'),
        'kind': msg.get_nested('IFLA_LINKINFO', 'IFLA_INFO_KIND'),
        'link': msg.get_attr('IFLA_LINK'),          # veth peer / macvlan parent index
        'mtu': msg.get_attr('IFLA_MTU'),
        'mac': msg.get_attr('IFLA_ADDRESS'),
        'master': msg.get_attr('IFLA_MASTER'),
        'up': bool(msg['flags'] & IFF_UP),
        'macvlan_mode': MACVLAN_MODE_NAMES.get(mode, mode),
    }


# linux/if_link.h MACVLAN_MODE_*
MACVLAN_MODES = {'private': 1, 'vepa': 2, 'bridge': 4, 'passthru': 8, 'source': 16}
MACVLAN_MODE_NAMES = dict((v, k) for k, v in MACVLAN_MODES.items())


def ns_sysctl(ns_path, key, value=None):
    """Read (value None) or write a ``/proc/sys/net`` setting inside the namespace at ``ns_path``.

    There is no netlink message for settings such as ``ipv6/conf/eth1/disable_ipv6``; /proc/sys/net
    shows the namespace of the thread that opens the file, so the thread enters it briefly.
    """
    path = os.path.join('/proc/sys/net', key)
    with _in_netns(ns_path):
        if value is None:
            with open(path) as handle:
                return handle.read().strip()
        with open(path, 'w') as handle:
            handle.write(str(value))
        return str(value)


def link_addresses(ipr, index):
    """Addresses on link ``index`` as normalised 'ADDR/PREFIX' strings."""
    result = []
    for msg in ipr.addr('dump', index=index):
        address = msg.get_attr('IFA_LOCAL') or msg.get_attr('IFA_ADDRESS')
        result.append(str(ipaddress.ip_interface('%s/%d' % (address, msg['prefixlen']))))
    return sorted(result, key=_address_key)


def default_routes(ipr):
    """Default routes of the main table: [{'family': 4|6, 'gateway': str|None, 'oif': index}]."""
    result = []
    for family, version in ((2, 4), (10, 6)):  # AF_INET, AF_INET6
        for msg in ipr.route('dump', family=family, table=254):
            if msg['dst_len'] != 0 or msg['type'] != 1:  # RTN_UNICAST only, not unreachable etc.
                continue
            result.append({'family': version, 'gateway': msg.get_attr('RTA_GATEWAY'),
                           'oif': msg.get_attr('RTA_OIF'), 'priority': msg.get_attr('RTA_PRIORITY')})
    return result


def create_veth(ipr, host_name, peer_name, peer_ns_fd, mtu, mac):
    """Create a veth pair whose peer is born inside the namespace ``peer_ns_fd`` under its final
    name: no temporary name in the host namespace, no rename, nothing half-made to clean up."""
    ipr.link('add', ifname=host_name, kind='veth', mtu=mtu,
             peer={'ifname': peer_name, 'net_ns_fd': peer_ns_fd, 'mtu': mtu, 'address': mac})


def create_macvlan(ipr, name, parent_index, mode, ns_fd, mtu, mac):
    """Create a macvlan on ``parent_index`` directly inside the namespace ``ns_fd``."""
    ipr.link('add', ifname=name, kind='macvlan', link=parent_index, macvlan_mode=mode,
             net_ns_fd=ns_fd, mtu=mtu, address=mac)


def set_link(ipr, index, **attrs):
    """Change link attributes in place (mtu, address, state, master)."""
    ipr.link('set', index=index, **attrs)


def delete_link(ipr, index):
    ipr.link('del', index=index)


def add_address(ipr, index, address):
    iface = ipaddress.ip_interface(address)
    ipr.addr('add', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)


def del_address(ipr, index, address):
    iface = ipaddress.ip_interface(address)
    ipr.addr('del', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)


def add_default_route(ipr, family, gateway, oif, onlink=False):
    kwargs = {'dst': '0.0.0.0/0' if family == 4 else '::/0', 'gateway': gateway, 'oif': oif,
              'family': 2 if family == 4 else 10}
    if onlink:
        kwargs['flags'] = 4  # RTNH_F_ONLINK: gateway reachable on the link though outside the subnets
    ipr.route('add', **kwargs)


def del_default_route(ipr, route):
    kwargs = {'dst': '0.0.0.0/0' if route['family'] == 4 else '::/0', 'oif': route['oif'],
              'family': 2 if route['family'] == 4 else 10}
    if route.get('gateway'):
        kwargs['gateway'] = route['gateway']
    if route.get('priority') is not None:
        kwargs['priority'] = route['priority']
    ipr.route('del', **kwargs)
