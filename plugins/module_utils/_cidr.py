# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure address planning for docker0 on every host of the mesh (module docker_bridge_cidr).

All docker0 bridges are one layer-2 segment, so they share one supernet (172.17.0.0/16 in seed 002).
Each host gets:
- a docker0 address from the bridge block (172.17.42.N in the seed), with the supernet's prefix;
- a fixed_cidr range (`dockerd --fixed-cidr`) of host_prefix length, from which its dockerd hands
  out container addresses. Ranges never overlap each other nor the bridge block.

Allocations are sticky: a host keeps a valid current range and address, so adding or removing a host
never renumbers the others; new hosts get the lowest free range/address in natural order of their
names, so the result does not depend on the order of the inventory.

No I/O here. Errors are raised as CidrError (a ValueError) naming the field at fault.
"""

from __future__ import annotations

import re
import traceback
from itertools import islice

try:
    import netaddr
except ImportError:
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None

DEFAULT_SUPERNET = '172.17.0.0/16'
DEFAULT_HOST_PREFIX = 24
# A range or bridge block needs room for a network address, a broadcast address and hosts.
PREFIX_MAX = 30
MTU_MIN = 68  # the smallest MTU IPv4 allows (RFC 791)
MTU_MAX = 65535


class CidrError(ValueError):
    """Bad input to the address planning; the message names the field at fault."""


def _empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def parse_network(value, field, strict=True):
    """Return value ('a.b.c.d/len' or 'a.b.c.d/netmask') as an IPv4 netaddr.IPNetwork.

    strict: refuse host bits (172.17.0.1/16): for the networks the operator writes, they are a typo.
    Without strict the value comes back as written (.ip keeps the host bits, .cidr drops them).
    """
    text = value.strip() if isinstance(value, str) else value
    # Without '/' netaddr reads a bare address as a /32, which is never what was meant here.
    if not isinstance(text, str) or '/' not in text:
        raise CidrError('%s: %r is not a network in CIDR notation (a.b.c.d/len)' % (field, value))
    try:
        net = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise CidrError('%s: %r is not a valid CIDR' % (field, value))
    if net.version != 4:
        raise CidrError('%s: %r is not an IPv4 network (docker0 and --fixed-cidr are IPv4)' % (field, value))
    if strict and net.ip != net.network:
        raise CidrError('%s: %r has host bits set, did you mean %s?' % (field, value, net.cidr))
    return net.cidr if strict else net


def parse_interface(value, field):
    """Return an interface address ('172.17.42.1/16', or a bare '172.17.42.1') as an IPNetwork.

    A bare address comes back as a /32: callers use .ip, and .prefixlen only when the text had a '/'.
    """
    text = value.strip() if isinstance(value, str) else value
    try:
        addr = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise CidrError('%s: %r is not a valid address (a.b.c.d/len)' % (field, value))
    if addr.version != 4:
        raise CidrError('%s: %r is not an IPv4 address' % (field, value))
    return addr


def overlaps(a, b):
    return a.first <= b.last and b.first <= a.last


def contains(outer, inner):
    return outer.first <= inner.first and inner.last <= outer.last


def natural_key(name):
    """Sort key: host2 before host10. re.split with a group alternates text and digits."""
    parts = re.split(r'(\d+)', name)
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)] + [name]


def validate_layout(supernet, host_prefix, bridge_block):
    """Check the global parameters; return (supernet, bridge_block) as IPNetworks.

    Without bridge_block, the first host_prefix range of the supernet is reserved for the docker0
    addresses, so that no container range contains another host's docker0 address.
    """
    net = parse_network(supernet, 'supernet')
    if isinstance(host_prefix, bool) or not isinstance(host_prefix, int):
        raise CidrError('host_prefix: %r is not an integer' % (host_prefix,))
    if host_prefix <= net.prefixlen:
        raise CidrError('host_prefix: /%d must be longer than the prefix of supernet %s, so that every host '
                        'gets a part of it' % (host_prefix, net))
    if host_prefix > PREFIX_MAX:
        raise CidrError('host_prefix: /%d leaves no room for containers, use /%d or shorter' % (host_prefix, PREFIX_MAX))
    if _empty(bridge_block):
        return net, netaddr.IPNetwork('%s/%d' % (net.network, host_prefix))
    block = parse_network(bridge_block, 'bridge_block')
    if not contains(net, block):
        raise CidrError('bridge_block: %s is outside supernet %s: docker0 addresses must be in the supernet'
                        % (block, net))
    if block.prefixlen > PREFIX_MAX:
        raise CidrError('bridge_block: %s is too small, use /%d or shorter' % (block, PREFIX_MAX))
    return net, block


def validate_mtu(mtu):
    if mtu is None:
        return None
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not MTU_MIN <= mtu <= MTU_MAX:
        raise CidrError('mtu: %r must be an integer between %d and %d' % (mtu, MTU_MIN, MTU_MAX))
    return mtu


def _check_conflict(text, field, supernet, what, errors):
    """Parse a route or underlay network; add an error if it overlaps the supernet.

    The default route (prefix 0) and the supernet itself (the connected route of an existing
    docker0) are no conflict.
    """
    try:
        net = parse_network(text, field, strict=False).cidr
    except CidrError as exc:
        errors.append(str(exc))
        return
    if net.prefixlen and net != supernet and overlaps(net, supernet):
        errors.append('%s: supernet %s overlaps %s %s: docker0 would take its addresses, choose another supernet'
                      % (field, supernet, what, net))


def _parse_current(host, key, field, parse, errors):
    """Parse an optional current_* value of a host; None when empty or invalid (error added)."""
    if _empty(host.get(key)):
        return None
    try:
        return parse(host[key], field)
    except CidrError as exc:
        errors.append(str(exc))
        return None


def normalise_hosts(hosts, supernet, underlay):
    """Parse the hosts list into dicts with IPNetworks (or None); collect every error at once."""
    errors = []
    result = []
    seen = set()
    if not isinstance(hosts, (list, tuple)):
        raise CidrError('hosts: must be a list of dicts, got %r' % (hosts,))
    for index, host in enumerate(hosts):
        name = host.get('name') if isinstance(host, dict) else None
        if _empty(name) or not isinstance(name, str):
            errors.append('hosts[%d]: needs a name (the inventory hostname), got %r' % (index, host))
            continue
        if name in seen:
            errors.append('hosts[%d]: host %s is listed twice' % (index, name))
            continue
        seen.add(name)

        def field(key):
            return 'hosts[%d].%s (host %s)' % (index, key, name)

        item = {'name': name}
        item['range'] = _parse_current(host, 'current_fixed_cidr', field('current_fixed_cidr'),
                                       lambda value, where: parse_network(value, where, strict=False), errors)
        item['range_text'] = (host.get('current_fixed_cidr') or '').strip()
        item['address'] = _parse_current(host, 'current_address', field('current_address'), parse_interface, errors)
        item['address_text'] = (host.get('current_address') or '').strip()
        for number, route in enumerate(host.get('routes') or []):
            _check_conflict(route, field('routes[%d]' % number), supernet, 'the route', errors)
        result.append(item)
    for number, text in enumerate(underlay or []):
        _check_conflict(text, 'underlay[%d]' % number, supernet, 'the underlay network', errors)
    if errors:
        raise CidrError('; '.join(errors))
    return result


def range_problem(current, supernet, host_prefix, bridge_block):
    """Why a host's current fixed_cidr (as written, host bits and all) cannot be kept, or None when it can."""
    if current.ip != current.network:
        return 'host bits set'
    if not contains(supernet, current):
        return 'outside supernet %s' % supernet
    if current.prefixlen != host_prefix:
        return 'prefix /%d is not host_prefix /%d' % (current.prefixlen, host_prefix)
    if overlaps(current, bridge_block):
        return 'it overlaps bridge_block %s' % bridge_block
    return None


def address_usable(current, bridge_block):
    """A current docker0 address is kept when it is a host address inside the bridge block."""
    return current is not None and bridge_block.first < current.ip.value < bridge_block.last


def _refuse_shared_ranges(items):
    """Two hosts keeping the same fixed_cidr: which one keeps it is undecidable, and Docker never sets
    --fixed-cidr by itself, so this is a configuration mistake (containers of both may already clash)."""
    owners = {}
    for item in items:
        if item['kept_range'] is not None:
            owners.setdefault(item['kept_range'], []).append(item['name'])
    errors = ['hosts %s all claim fixed_cidr %s (hosts[].current_fixed_cidr): remove --fixed-cidr from the dockerd '
              'of all but one of them, or pass an empty current_fixed_cidr for them'
              % (', '.join(sorted(names, key=natural_key)), value)
              for value, names in sorted(owners.items()) if len(names) > 1]
    if errors:
        raise CidrError('; '.join(errors))


def _share_addresses(items):
    """Two hosts with the same docker0 address: the first in natural order keeps it, the others move.

    Unlike a shared fixed_cidr this is the normal state before the first run: Docker gives every
    host 172.17.0.1/16, which lies in the default bridge block.
    """
    warnings = []
    holder = {}
    for item in sorted(items, key=lambda i: natural_key(i['name'])):
        ip = item['kept_ip']
        if ip is None:
            continue
        if ip in holder:
            item['kept_ip'] = None
            warnings.append('host %s: docker0 address %s is also the one of host %s, which keeps it; %s gets '
                            'another one' % (item['name'], ip, holder[ip], item['name']))
        else:
            holder[ip] = item['name']
    return warnings


def free_ranges(supernet, host_prefix, bridge_block, used):
    """Yield free host_prefix ranges of the supernet, lowest first, skipping the bridge block.

    used: the first addresses (ints) of the ranges that are taken.
    """
    size = 2 ** (32 - host_prefix)
    start = supernet.first
    while start + size - 1 <= supernet.last:
        candidate = netaddr.IPNetwork('%s/%d' % (netaddr.IPAddress(start), host_prefix))
        if overlaps(candidate, bridge_block):
            # Jump over the whole block at once: it may span many ranges.
            start = (bridge_block.last // size + 1) * size
            continue
        if start not in used:
            yield candidate
        start += size


def free_addresses(bridge_block, used):
    """Yield the free host addresses of the bridge block, lowest first; used: ints."""
    for value in range(bridge_block.first + 1, bridge_block.last):
        if value not in used:
            yield netaddr.IPAddress(value)


def _keep(items, supernet, host_prefix, bridge_block):
    """have: set kept_range / kept_ip on every item (None when the host needs a new one)."""
    for item in items:
        item['kept_range'] = None
        if item['range'] is not None:
            item['range_problem'] = range_problem(item['range'], supernet, host_prefix, bridge_block)
            if item['range_problem'] is None:
                item['kept_range'] = item['range'].cidr
        item['kept_ip'] = item['address'].ip if address_usable(item['address'], bridge_block) else None
    _refuse_shared_ranges(items)
    return _share_addresses(items)


def _allocate(ordered, supernet, host_prefix, bridge_block):
    """want: give the hosts without a kept range/address the lowest free ones, in the given order."""
    warnings = []
    used = set(i['kept_range'].first for i in ordered if i['kept_range'] is not None)
    need = [i for i in ordered if i['kept_range'] is None]
    ranges = list(islice(free_ranges(supernet, host_prefix, bridge_block, used), len(need)))
    if len(ranges) < len(need):
        raise CidrError('supernet %s is too small: it has %d ranges of /%d, bridge_block %s takes %d, %d are kept, '
                        'and hosts %s need one each; use a longer host_prefix or a larger supernet'
                        % (supernet, range_count(supernet, host_prefix), host_prefix, bridge_block,
                           blocked_count(host_prefix, bridge_block), len(used), ', '.join(i['name'] for i in need)))
    for item, new in zip(need, ranges):
        item['kept_range'], item['new_range'] = new, True
        if item['range'] is not None:
            warnings.append('host %s: current fixed_cidr %s is replaced by %s (%s); its containers get new '
                            'addresses when dockerd restarts'
                            % (item['name'], item['range_text'], new, item['range_problem']))

    used = set(i['kept_ip'].value for i in ordered if i['kept_ip'] is not None)
    need = [i for i in ordered if i['kept_ip'] is None]
    addresses = list(islice(free_addresses(bridge_block, used), len(need)))
    if len(addresses) < len(need):
        raise CidrError('bridge_block %s is too small: %d of its addresses are kept, and hosts %s need one each'
                        % (bridge_block, len(used), ', '.join(i['name'] for i in need)))
    for item, new in zip(need, addresses):
        item['kept_ip'], item['new_ip'] = new, True
    return warnings


def range_count(supernet, host_prefix):
    return 2 ** (host_prefix - supernet.prefixlen)


def blocked_count(host_prefix, bridge_block):
    """How many ranges the bridge block makes unusable: all it spans, or the one that holds it."""
    return 2 ** max(host_prefix - bridge_block.prefixlen, 0)


def plan_allocations(supernet=DEFAULT_SUPERNET, hosts=(), host_prefix=DEFAULT_HOST_PREFIX, bridge_block=None,
                     mtu=None, underlay=None):
    """Plan docker0 address and fixed_cidr of every host; raise CidrError before returning anything.

    Returns {'allocations': {host: {address, gateway, fixed_cidr, kept_address, kept_fixed_cidr[, mtu]}},
    'supernet', 'bridge_block' (the one used), 'free_ranges', 'warnings'}.
    """
    net, block = validate_layout(supernet, host_prefix, bridge_block)
    mtu = validate_mtu(mtu)
    items = normalise_hosts(hosts, net, underlay)
    warnings = _keep(items, net, host_prefix, block)
    # Natural order of the names, not the inventory's: the same hosts always get the same answer.
    ordered = sorted(items, key=lambda i: natural_key(i['name']))
    warnings.extend(_allocate(ordered, net, host_prefix, block))

    allocations = {}
    for item in ordered:
        ip = item['kept_ip']
        kept_address = not item.get('new_ip')
        if kept_address and '/' in item['address_text'] and item['address'].prefixlen != net.prefixlen:
            warnings.append('host %s: docker0 address %s keeps its IP but gets the prefix of the supernet: %s/%d'
                            % (item['name'], item['address_text'], ip, net.prefixlen))
        result = {
            'address': '%s/%d' % (ip, net.prefixlen),
            'gateway': str(ip),
            'fixed_cidr': str(item['kept_range']),
            'kept_address': kept_address,
            'kept_fixed_cidr': not item.get('new_range'),
        }
        if mtu is not None:
            result['mtu'] = mtu
        allocations[item['name']] = result
    return {
        'allocations': allocations,
        'supernet': str(net),
        'bridge_block': str(block),
        'free_ranges': range_count(net, host_prefix) - blocked_count(host_prefix, block) - len(items),
        'warnings': warnings,
    }
