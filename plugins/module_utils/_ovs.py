# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared Open vSwitch helpers: validation, reading state, one-transaction writes.

Private to this collection (the leading underscore): no stability promise.

The modules read the whole OVS state with ONE ``ovs-vsctl --format=json`` call,
plan the change with pure functions and apply it as ONE ``ovs-vsctl`` transaction,
so a converged run costs one process and a change two.
"""

from __future__ import annotations

import ipaddress
import json
import re

# Port external_ids key that marks a port as created/managed by this collection.
MANAGED_KEY = 'ovsmesh-managed'
ENVIRON = {'LANG': 'C', 'LC_ALL': 'C'}
DEFAULT_TIMEOUT = 10

# Columns read in one call; enough for ovs_bridge and ovs_tunnel.
COLUMNS = {
    'Bridge': ('_uuid', 'name', 'ports', 'datapath_type', 'stp_enable', 'rstp_enable',
               'other_config', 'external_ids', 'fail_mode', 'protocols'),
    'Port': ('_uuid', 'name', 'interfaces', 'external_ids'),
    'Interface': ('_uuid', 'name', 'type', 'options', 'bfd', 'mtu_request'),
}

# Linux IFNAMSIZ is 16 including the NUL byte. OVS port names become netdev names.
IFNAME_MAX = 15
_IFNAME_RE = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_.-]*$')
# Strings ovs-vsctl takes unquoted; anything else is passed as a quoted OVSDB string.
_BARE_RE = re.compile(r'^[A-Za-z0-9_.-]+$')


def validate_name(value, field):
    """Return ``value`` if it is a valid interface/port/bridge name, else raise ValueError naming ``field``."""
    if not isinstance(value, str) or not value:
        raise ValueError('%s: a name is required' % field)
    if len(value) > IFNAME_MAX:
        raise ValueError('%s: %r is %d characters long, the kernel allows at most %d'
                         % (field, value, len(value), IFNAME_MAX))
    if value in ('.', '..') or not _IFNAME_RE.match(value):
        raise ValueError("%s: %r is not a valid interface name (use A-Z a-z 0-9 _ . -, "
                         "not starting with '-')" % (field, value))
    return value


def validate_int(value, field, low, high):
    """Return ``value`` as int if ``low <= value <= high``, else raise ValueError naming ``field``."""
    if isinstance(value, bool):
        raise ValueError('%s: expected an integer, got %r' % (field, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError('%s: expected an integer, got %r' % (field, value))
    if not low <= number <= high:
        raise ValueError('%s: %d is out of range %d..%d' % (field, number, low, high))
    return number


def validate_ip(value, field, allow_flow=True):
    """Return the normalised unicast IP literal (or ``flow``), else raise ValueError naming ``field``."""
    if allow_flow and value == 'flow':
        return value
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        raise ValueError('%s: %r is not an IPv4/IPv6 address%s'
                         % (field, value, " or 'flow'" if allow_flow else ''))
    if address.is_multicast or address.is_unspecified or getattr(address, 'scope_id', None):
        raise ValueError('%s: %r must be a unicast address' % (field, value))
    return str(address)


def to_ovs_string(value):
    """Render a task value the way OVSDB stores it in a string map (``true``, ``100``, ...)."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def quote(value):
    """Quote a string for an ovs-vsctl argument unless it is a bare token."""
    value = to_ovs_string(value)
    if _BARE_RE.match(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def map_changes(column, current, want):
    """Plan per-key changes of an OVSDB map column.

    ``want`` values of None mean "remove this key"; keys not in ``want`` are left alone.
    Returns (set_args, remove_keys, result): ``column:key=value`` arguments for ``set``,
    quoted keys for ``remove``, and the map as it will be afterwards.
    """
    current = current or {}
    result = dict(current)
    set_args, remove_keys = [], []
    for key in sorted(want or {}):
        value = want[key]
        if value is None:
            if key in current:
                remove_keys.append(quote(key))
                del result[key]
            continue
        value = to_ovs_string(value)
        if current.get(key) != value:
            set_args.append('%s:%s=%s' % (column, quote(key), quote(value)))
            result[key] = value
    return set_args, remove_keys, result


def decode(datum):
    """Turn an OVSDB JSON datum (``["map", ...]``, ``["set", ...]``, ``["uuid", x]``) into Python."""
    if isinstance(datum, list) and len(datum) == 2:
        kind, payload = datum
        if kind == 'map':
            return dict((decode(k), decode(v)) for k, v in payload)
        if kind == 'set':
            return [decode(item) for item in payload]
        if kind in ('uuid', 'named-uuid'):
            return payload
    return datum


def as_list(value):
    """OVSDB sends a one-element set as the bare element: always give a list."""
    if isinstance(value, list):
        return value
    return [value]


def parse_tables(stdout):
    """Parse ``ovs-vsctl --format=json list ...`` output (one JSON document per line)."""
    tables = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        headings = doc['headings']
        tables.append([dict(zip(headings, [decode(cell) for cell in row])) for row in doc['data']])
    return tables


def build_state(bridges, ports, interfaces):
    """Join Bridge/Port/Interface rows into name-keyed dicts.

    Returns ``{'bridges': {name: row}, 'ports': {name: row}, 'interfaces': {name: row}}``;
    a bridge row gets ``port_names``, a port row ``bridge`` (its bridge name or None)
    and ``interface_names``.
    """
    iface_by_uuid = dict((row['_uuid'], row) for row in interfaces)
    port_by_uuid = dict((row['_uuid'], row) for row in ports)
    state = {'bridges': {}, 'ports': {}, 'interfaces': {}}
    for row in interfaces:
        iface = dict(row)
        iface['mtu_request'] = None if iface.get('mtu_request') in ([], None) else int(iface['mtu_request'])
        state['interfaces'][row['name']] = iface
    for row in ports:
        port = dict(row, bridge=None)
        port['interface_names'] = [iface_by_uuid[u]['name'] for u in as_list(row['interfaces'])
                                   if u in iface_by_uuid]
        state['ports'][row['name']] = port
    for row in bridges:
        bridge = dict(row)
        bridge['fail_mode'] = None if row.get('fail_mode') in ([], None, '') else row['fail_mode']
        bridge['protocols'] = sorted(as_list(row.get('protocols') or []))
        bridge['port_names'] = []
        for uuid in as_list(row['ports']):
            if uuid in port_by_uuid:
                name = port_by_uuid[uuid]['name']
                bridge['port_names'].append(name)
                state['ports'][name]['bridge'] = row['name']
        state['bridges'][row['name']] = bridge
    return state


def read_argv(ovs_vsctl, timeout=DEFAULT_TIMEOUT):
    """argv of the single read: Bridge, Port and Interface tables in one process."""
    argv = [ovs_vsctl, '--timeout=%d' % timeout, '--format=json']
    for table in ('Bridge', 'Port', 'Interface'):
        argv += ['--', '--columns=%s' % ','.join(COLUMNS[table]), 'list', table]
    return argv


def transaction_argv(ovs_vsctl, commands, timeout=DEFAULT_TIMEOUT):
    """argv of ONE ovs-vsctl transaction running every command (each a list of words)."""
    argv = [ovs_vsctl, '--timeout=%d' % timeout]
    for command in commands:
        argv += ['--'] + list(command)
    return argv


def read_state(module, ovs_vsctl, timeout=DEFAULT_TIMEOUT):
    """Read Bridge/Port/Interface with one ovs-vsctl call and return ``build_state()``'s dict."""
    argv = read_argv(ovs_vsctl, timeout)
    rc, out, err = module.run_command(argv, environ_update=ENVIRON)
    if rc != 0:
        module.fail_json(msg='reading the Open vSwitch database failed: %s' % (err or out).strip(),
                         rc=rc, cmd=argv)
    try:
        bridges, ports, interfaces = parse_tables(out)
    except (ValueError, KeyError) as exc:
        module.fail_json(msg='cannot parse ovs-vsctl output: %s' % exc, cmd=argv)
    return build_state(bridges, ports, interfaces)


def find_and_read(module, timeout=DEFAULT_TIMEOUT):
    """Return (ovs_vsctl path, state). In check mode on a host where Open vSwitch is not installed
    yet (a check run of a fresh host, where installing it is only planned too), the state is empty
    and the plan shows everything that would be created."""
    ovs_vsctl = module.get_bin_path('ovs-vsctl', required=not module.check_mode)
    if ovs_vsctl is None:
        module.warn('ovs-vsctl not found: Open vSwitch is not installed yet; planning against an empty database')
        return 'ovs-vsctl', build_state([], [], [])
    return ovs_vsctl, read_state(module, ovs_vsctl, timeout)


def run_transaction(module, argv):
    """Run the planned transaction; fail the task with ovs-vsctl's message if it is refused."""
    rc, out, err = module.run_command(argv, environ_update=ENVIRON)
    if rc != 0:
        module.fail_json(msg='ovs-vsctl transaction failed: %s' % (err or out).strip(),
                         rc=rc, commands=argv)


def parse_fib_trie(text):
    """IPv4 addresses of this host from /proc/net/fib_trie (the ``/32 host LOCAL`` leaves)."""
    addresses, last = set(), None
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ('|--', '+--') and '/' not in words[1]:
            last = words[1]
        elif last and line.strip().startswith('/32 host LOCAL'):
            addresses.add(last)
    return addresses


def parse_if_inet6(text):
    """IPv6 addresses of this host from /proc/net/if_inet6 (32 hex digits per line)."""
    addresses = set()
    for line in text.splitlines():
        words = line.split()
        if words and len(words[0]) == 32:
            addresses.add(str(ipaddress.IPv6Address(int(words[0], 16))))
    return addresses


def local_addresses():
    """This host's own IP addresses, read from /proc without running ``ip``.

    /proc/net/fib_trie lists every local IPv4 address (secondaries included, which the
    SIOCGIFCONF ioctl misses); /proc/net/if_inet6 every IPv6 one. Both are per network
    namespace. A missing file (no IPv6, unusual kernel) just yields no addresses.
    """
    addresses = set()
    for path, parser in (('/proc/net/fib_trie', parse_fib_trie), ('/proc/net/if_inet6', parse_if_inet6)):
        try:
            with open(path) as handle:
                addresses |= parser(handle.read())
        except (IOError, OSError):
            pass
    return addresses


def is_self_address(ip, addresses):
    """True if the (normalised) address ``ip`` belongs to this host: a self tunnel."""
    if ip == 'flow':
        return False
    return ip in addresses or ipaddress.ip_address(ip).is_loopback
