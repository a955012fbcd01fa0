# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure planning logic of the overlay mesh: which tunnels a host has, their names, the MTU, STP priority.

No I/O here: everything is computed from the inventory (host names and their variables), so the same
answer comes out on every host and in every test. Errors are raised as MeshError (a ValueError); the
filter plugin turns them into AnsibleFilterError.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ansible.module_utils.parsing.convert_bool import boolean

TOPOLOGIES = ('full_mesh', 'ring', 'hub')
TUNNEL_TYPES = ('gre', 'vxlan', 'geneve')
STP_MODES = ('rstp', 'stp')

# Port name prefix per tunnel type: short, so that prefix + peer id fits IFNAMSIZ - 1 = 15 characters.
NAME_PREFIX = {'gre': 'gre', 'vxlan': 'vxl', 'geneve': 'gnv'}
IFNAME_MAX = 15
# Hex digits of the hash that names a tunnel to an IPv6 peer: 'gre6-' + 10 = 15 characters.
IPV6_HASH_DIGITS = 10

# IANA ports, also Open vSwitch's defaults.
DEFAULT_DST_PORT = {'vxlan': 4789, 'geneve': 6081}
# GRE keys are 32 bits wide, VXLAN and Geneve VNIs 24 bits.
KEY_MAX = {'gre': 2 ** 32 - 1, 'vxlan': 2 ** 24 - 1, 'geneve': 2 ** 24 - 1}

# Bytes a tunnel adds around the overlay's IP packet, over an IPv4 underlay: the inner Ethernet
# header (14) + the outer IPv4 header (20) + GRE (4) or UDP + VXLAN/Geneve (8 + 8, Geneve without
# options). An IPv6 outer header is 20 bytes larger than an IPv4 one.
ENCAP_OVERHEAD = {'gre': 38, 'vxlan': 50, 'geneve': 50}
IPV6_EXTRA_OVERHEAD = 20
MTU_MIN = 68  # the smallest MTU IPv4 allows (RFC 791)
MTU_MAX = 65535

# RSTP needs priorities in steps of 4096; STP accepts them too. 32768 is the default of both.
STP_ROOT_PRIORITY = 4096
STP_DEFAULT_PRIORITY = 32768


class MeshError(ValueError):
    """Bad input to the mesh planning functions; the message names the variable at fault."""


def validate_choice(value, choices, field):
    if value not in choices:
        raise MeshError('%s must be one of %s, got %r' % (field, ', '.join(choices), value))
    return value


def validate_int(value, field, minimum, maximum):
    """Return value as an int in [minimum, maximum]; digit strings (from extra vars) are accepted."""
    # bool is an int subclass: refuse it rather than turn `yes` into 1.
    if isinstance(value, bool):
        raise MeshError('%s must be an integer, got %r' % (field, value))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise MeshError('%s must be an integer, got %r' % (field, value))
    if not minimum <= value <= maximum:
        raise MeshError('%s must be between %d and %d, got %d' % (field, minimum, maximum, value))
    return value


def _optional(value):
    """None and '' both mean 'not set' (role defaults often use an empty string)."""
    return None if value is None or value == '' else value


def validate_hosts(hosts, me=None):
    """Return the host names as a sorted list without duplicates; me, when given, must be one of them."""
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple, set, frozenset)):
        raise MeshError('the mesh hosts must be a list of inventory host names, got %r' % (hosts,))
    names = set()
    for host in hosts:
        if not isinstance(host, str) or not host:
            raise MeshError('the mesh hosts must be inventory host names, got %r' % (host,))
        names.add(str(host))
    if me is not None and me not in names:
        raise MeshError('host %s is not one of the mesh hosts (%s)' % (me, ', '.join(sorted(names))))
    return sorted(names)


def parse_ip(value):
    """Return an ipaddress object for an IP literal, or None for anything else (a DNS name, a CIDR)."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def underlay_address(host, host_vars):
    """The underlay address of host: ovsmesh_underlay_ip, else ansible_host when it is an IP literal."""
    explicit = _optional(host_vars.get('ovsmesh_underlay_ip'))
    if explicit is not None:
        address = parse_ip(explicit)
        if address is None:
            # Set but wrong: say so instead of silently falling back to ansible_host.
            raise MeshError('ovsmesh_underlay_ip of host %s must be an IP address, got %r' % (host, explicit))
    else:
        address = parse_ip(host_vars.get('ansible_host'))
        if address is None:
            raise MeshError('host %s has no underlay address: set ovsmesh_underlay_ip, or ansible_host to an'
                            ' IP address (ansible_host is %r)' % (host, host_vars.get('ansible_host')))
    if address.is_unspecified or address.is_multicast:
        raise MeshError('the underlay address %s of host %s cannot be a tunnel endpoint' % (address, host))
    return address


def collect_addresses(hosts, hostvars):
    """Map every host name to its underlay address; refuse duplicates and a mix of IPv4 and IPv6."""
    addresses = {}
    owner = {}
    for host in hosts:
        if host not in hostvars:
            raise MeshError('host %s is not in the inventory (no hostvars)' % host)
        address = underlay_address(host, hostvars[host])
        if address in owner:
            raise MeshError('hosts %s and %s have the same underlay address %s'
                            % (owner[address], host, address))
        owner[address] = host
        addresses[host] = address
    versions = {}
    for host in hosts:
        versions.setdefault(addresses[host].version, host)
    if len(versions) > 1:
        raise MeshError('the underlay addresses mix IPv4 (host %s) and IPv6 (host %s): a tunnel needs both'
                        ' ends in the same family' % (versions[4], versions[6]))
    return addresses


def port_name(tunnel_type, address):
    """The name of the tunnel port towards the peer at address, e.g. gre-0a320a0b for 10.50.10.11.

    It depends on the peer alone (not on a position in the inventory), so adding or removing a host
    never renames the other tunnels. IPv6 addresses are too long to spell out: a hash stands in.
    """
    prefix = NAME_PREFIX[tunnel_type]
    if address.version == 4:
        name = '%s-%08x' % (prefix, int(address))
    else:
        digest = hashlib.sha256(address.packed).hexdigest()[:IPV6_HASH_DIGITS]
        name = '%s6-%s' % (prefix, digest)
    return name


def mesh_peers(addresses, me, topology='full_mesh', hub=None):
    """The hosts that me has a tunnel to; a symmetric relation (b in peers(a) <=> a in peers(b))."""
    validate_choice(topology, TOPOLOGIES, 'ovsmesh_topology')
    others = [host for host in addresses if host != me]
    if topology == 'full_mesh':
        return sorted(others)
    if topology == 'ring':
        # The ring's order comes from the addresses, not from the inventory, so it is the same
        # whichever way the group is listed.
        ring = sorted(addresses, key=lambda host: addresses[host])
        if len(ring) < 2:
            return []
        index = ring.index(me)
        return sorted({ring[index - 1], ring[(index + 1) % len(ring)]})
    hub = _optional(hub)
    if hub is None:
        raise MeshError('ovsmesh_hub must name a host when ovsmesh_topology is hub')
    if hub not in addresses:
        raise MeshError('ovsmesh_hub %r is not one of the mesh hosts (%s)' % (hub, ', '.join(sorted(addresses))))
    return sorted(others) if me == hub else [hub]


def plan_tunnels(hosts, hostvars, me, topology='full_mesh', hub=None, tunnel_type='gre', key=None,
                 dst_port=None):
    """The tunnels of host me, in the form ovsmesh.overlay.ovs_tunnel takes, sorted by name.

    hostvars maps host names to their variables (Ansible's hostvars or a plain dict).
    dst_port is for VXLAN and Geneve (default: their IANA port) and is ignored for GRE.
    """
    validate_choice(topology, TOPOLOGIES, 'ovsmesh_topology')
    validate_choice(tunnel_type, TUNNEL_TYPES, 'ovsmesh_tunnel_type')
    key = _optional(key)
    if key is not None:
        key = validate_int(key, 'ovsmesh_tunnel_key', 0, KEY_MAX[tunnel_type])
    dst_port = _optional(dst_port)
    if dst_port is not None:
        dst_port = validate_int(dst_port, 'ovsmesh_vxlan_port', 1, 65535)
    hosts = validate_hosts(hosts, me)
    addresses = collect_addresses(hosts, hostvars)

    tunnels = []
    for peer in mesh_peers(addresses, me, topology, hub):
        tunnel = {
            'name': port_name(tunnel_type, addresses[peer]),
            'type': tunnel_type,
            'remote_ip': str(addresses[peer]),
            'peer': peer,
        }
        if key is not None:
            tunnel['key'] = key
        if tunnel_type in DEFAULT_DST_PORT:
            tunnel['dst_port'] = DEFAULT_DST_PORT[tunnel_type] if dst_port is None else dst_port
        tunnels.append(tunnel)
    tunnels.sort(key=lambda tunnel: tunnel['name'])

    # Two ports of one bridge cannot share a name. IPv4 names cannot clash; IPv6 hashes could.
    for first, second in zip(tunnels, tunnels[1:]):
        if first['name'] == second['name']:
            raise MeshError('the tunnels to %s and %s would both be named %s'
                            % (first['peer'], second['peer'], first['name']))
    return tunnels


def overlay_mtu(underlay_mtu, tunnel_type='gre', ipv6=False, requested='auto'):
    """The MTU of the overlay: the underlay's minus the encapsulation, or a requested one that fits.

    An overlay MTU larger than that loses every big packet silently (seed 002's black hole), so a
    requested MTU that does not fit is refused instead of being passed on.
    """
    validate_choice(tunnel_type, TUNNEL_TYPES, 'ovsmesh_tunnel_type')
    try:
        ipv6 = boolean(ipv6, strict=True)
    except TypeError:
        raise MeshError('ipv6 must be a boolean, got %r' % (ipv6,))
    underlay_mtu = validate_int(underlay_mtu, 'underlay MTU', MTU_MIN, MTU_MAX)
    overhead = ENCAP_OVERHEAD[tunnel_type] + (IPV6_EXTRA_OVERHEAD if ipv6 else 0)
    maximum = underlay_mtu - overhead
    family = 'IPv6' if ipv6 else 'IPv4'
    if maximum < MTU_MIN:
        raise MeshError('an underlay MTU of %d leaves no room for %s over %s (%d bytes of overhead)'
                        % (underlay_mtu, tunnel_type, family, overhead))
    if requested == 'auto':
        return maximum
    requested = validate_int(requested, 'requested MTU', MTU_MIN, MTU_MAX)
    if requested > maximum:
        raise MeshError('requested MTU %d does not fit an underlay MTU of %d with %s over %s (%d bytes of'
                        ' overhead): the maximum is %d' % (requested, underlay_mtu, tunnel_type, family,
                                                           overhead, maximum))
    return requested


def stp_priority(hosts, me, root=None, stp='rstp'):
    """The bridge priority of host me: the lowest for the chosen root bridge, the default otherwise."""
    validate_choice(stp, STP_MODES, 'stp')
    hosts = validate_hosts(hosts, me)
    root = _optional(root)
    if root is None:
        return STP_DEFAULT_PRIORITY
    if root not in hosts:
        raise MeshError('ovsmesh_stp_root %r is not one of the mesh hosts (%s)' % (root, ', '.join(hosts)))
    return STP_ROOT_PRIORITY if me == root else STP_DEFAULT_PRIORITY
