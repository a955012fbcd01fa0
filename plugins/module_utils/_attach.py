# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The container attachment engine behind ``container_attach`` and ``ovsmesh-attachd``.

Private to this collection (the leading underscore): no stability promise.

``attach()`` validates, reads the live state once (Docker, OVS, netlink), plans with pure
functions and acts outside check mode. It needs nothing from Ansible: its caller passes a
``runner`` with AnsibleModule's ``run_command(argv, environ_update=...)`` and
``get_bin_path(name)``, so the module and the persistence daemon run the same code.

Persistence records (``persist: true``) are JSON files in RECORD_DIR, one per container
interface, holding the module's options; the daemon re-applies them when Docker starts the
container again.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import signal
import traceback

from ansible_collections.ovsmesh.overlay.plugins.module_utils._container import (
    TargetError,
    container_aliases,
    container_target,
    docker_socket_path,
    find_dhcp_client,
    inspect_container,
    netns_path_for_name,
    netns_path_for_pid,
    same_netns,
)
from ansible_collections.ovsmesh.overlay.plugins.module_utils._netlink import (
    MACVLAN_MODES,
    MTU_MAX,
    MTU_MIN,
    MTU_MIN_IPV6,
    NetlinkError,
    add_address,
    add_default_route,
    create_macvlan,
    create_veth,
    default_routes,
    del_address,
    del_default_route,
    delete_link,
    derive_mac,
    host_ifname,
    is_link_local,
    link_addresses,
    link_state,
    needs_onlink,
    ns_sysctl,
    normalise_addresses,
    normalise_gateways,
    normalise_mac,
    open_ns,
    set_link,
)
from ansible_collections.ovsmesh.overlay.plugins.module_utils._ovs import (
    ENVIRON,
    build_state,
    map_changes,
    parse_tables,
    quote,
    validate_int,
    validate_name,
)

# ovs-vsctl may wait for ovs-vswitchd to set up a port in the userspace datapath: be patient.
OVS_TIMEOUT = 30
# A container's port is an access port with one host behind it: an RSTP edge port forwards at
# once instead of after the ~30 s of discarding/learning. RSTP drops the edge status by itself
# if a BPDU ever arrives on the port (a container that bridges), so this is safe to always set.
PORT_OTHER_CONFIG = {'rstp-port-admin-edge': 'true'}
VLAN_TAG_LEN = 4  # an 802.1Q tag
# Module and daemon take this lock around read-plan-act, so they never work on a link at once.
LOCK_PATH = '/run/ovsmesh-attach.lock'

RECORD_DIR = '/etc/ovsmesh/attachments'
RECORD_VERSION = 1
# The options a record keeps: everything but the target's kind (only containers persist),
# state and persist.
RECORD_KEYS = ('container', 'docker_host', 'mode', 'bridge', 'parent', 'macvlan_mode', 'ifname',
               'address', 'dhcp', 'gateway', 'default_route', 'mac', 'mtu', 'vlan')
# A record is named <container>@<ifname>.json; Docker names and ids, and interface names,
# have no '@' and no '/'.
_RECORD_CONTAINER_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
_HEX_RE = re.compile(r'^[0-9a-f]{12,64}$')


class AttachError(Exception):
    """The attachment cannot be made as asked; the message names the problem.

    Raised out of attach() with ``result``: the module result so far (the actions completed
    before the failure, and ``changed`` accordingly).
    """

    def __init__(self, msg, result=None):
        super().__init__(msg)
        self.result = result


# ---------------------------------------------------------------------------------------------
# Pure part: validation, want, plan, view
# ---------------------------------------------------------------------------------------------

def validate_params(params):
    """Check and normalise the options that need no I/O; raise ValueError naming the field."""
    present = params['state'] == 'present'
    veth = params['mode'] == 'veth'
    opts = {'ifname': validate_name(params['ifname'], 'ifname')}
    if veth:
        if params['parent'] is not None:
            raise ValueError('parent: only used with mode=macvlan (mode is veth)')
        if present and not params['bridge']:
            raise ValueError('bridge: required with mode=veth and state=present')
        if params['bridge']:
            validate_name(params['bridge'], 'bridge')
    else:
        if params['bridge'] is not None:
            raise ValueError('bridge: only used with mode=veth (mode is macvlan)')
        if params['vlan'] is not None:
            raise ValueError('vlan: only with mode=veth on an Open vSwitch bridge')
        if present and not params['parent']:
            raise ValueError('parent: required with mode=macvlan and state=present')
        if params['parent']:
            validate_name(params['parent'], 'parent')
    opts['vlan'] = None if params['vlan'] is None else validate_int(params['vlan'], 'vlan', 1, 4094)
    opts['mtu'] = None if params['mtu'] is None else validate_int(params['mtu'], 'mtu', MTU_MIN, MTU_MAX)
    opts['mac'] = None if params['mac'] is None else normalise_mac(params['mac'], 'mac')
    opts['addresses'] = None if params['address'] is None else normalise_addresses(params['address'], 'address')
    opts['gateways'] = normalise_gateways(params['gateway'] or [], 'gateway')
    if params['pid'] is not None and params['pid'] < 1:
        raise ValueError('pid: %d is not a process id' % params['pid'])
    if opts['mtu'] is not None and opts['mtu'] < MTU_MIN_IPV6 and wants_ipv6(opts):
        raise ValueError('mtu: %d is below %d, the minimum for IPv6 addresses' % (opts['mtu'], MTU_MIN_IPV6))
    if params['persist']:
        if params['container'] is None:
            raise ValueError('persist: only for a container (Docker events tell when to restore it), '
                             'not for netns or pid')
        record_name(params['container'], opts['ifname'])
    docker_socket_path(params['docker_host'])
    return opts


def identity(params, target):
    """(identity, recorded container_id): the string names and MACs derive from, and the value
    recorded in external_ids:container_id (the option as given, as ovs-docker records it)."""
    if params['container'] is not None:
        # The full id survives restarts and renames; the option as given may be a name.
        ident = target['id'] if target else params['container']
        return ident, params['container']
    if params['netns'] is not None:
        return 'netns:' + params['netns'], params['netns']
    return 'pid:%d' % params['pid'], str(params['pid'])


def has_ipv4(addresses):
    return any(ipaddress.ip_interface(a).version == 4 for a in addresses)


def wants_ipv6(want):
    """IPv6 must be on for the interface (Docker turns it off in --net=none containers)."""
    return 6 in want['gateways'] or any(ipaddress.ip_interface(a).version == 6 for a in want['addresses'] or [])


def _act(op, text, **kwargs):
    kwargs.update(op=op, text=text)
    return kwargs


def ovs_args(want, have, host, new):
    """ovs-vsctl arguments (one transaction) that bring the OVS port of ``host`` to ``want``.

    ``new``: the veth is created in this run; a port of the same name left from before was
    deleted by an earlier action (see plan_present), so it is added afresh.
    """
    args = []
    for stale in have['stale_ports']:
        args += ['--', '--if-exists', 'del-port', stale]
    port = None if new else have['ovs_port']
    if want['bridge_type'] != 'ovs':
        if port:  # moving from OVS to a Linux bridge
            args += ['--', '--if-exists', 'del-port', host]
        return args
    ids = ['external_ids:%s=%s' % (key, quote(value)) for key, value in sorted(want['external_ids'].items())]
    if port is None or port['bridge'] != want['bridge']:
        if port:
            args += ['--', '--if-exists', 'del-port', host]
        args += ['--', 'add-port', want['bridge'], host]
        args += ['tag=%d' % want['vlan']] if want['vlan'] else []
        args += map_changes('other_config', {}, PORT_OTHER_CONFIG)[0]
        args += ['--', 'set', 'Interface', host] + ids
        return args
    port_sets = map_changes('other_config', port.get('other_config'), PORT_OTHER_CONFIG)[0]
    if port['tag'] != want['vlan']:
        if want['vlan']:
            port_sets.insert(0, 'tag=%d' % want['vlan'])
        else:
            args += ['--', 'clear', 'Port', host, 'tag']
    if port_sets:
        args += ['--', 'set', 'Port', host] + port_sets
    current = have['ovs_external_ids']
    if any(current.get(key) != value for key, value in want['external_ids'].items()):
        args += ['--', 'set', 'Interface', host] + ids
    return args


def plan_routes(want, have, new, addresses):
    """Default route actions for the gateways in ``want`` (see the gateway option)."""
    acts = []
    ifindex = None if new else have['container_link']['index']
    for family in sorted(want['gateways']):
        gateway = want['gateways'][family]
        routes = [r for r in have['routes'] if r['family'] == family]
        mine = [r for r in routes if ifindex is not None and r['oif'] == ifindex]
        others = [r for r in routes if r not in mine]
        if others and not want['default_route']:
            continue  # another interface holds the default route: leave it (default_route: false)
        drop = others + [r for r in mine if r['gateway'] != gateway]
        for route in drop:
            acts.append(_act('route_del', 'delete default route via %s (IPv%d)' % (route['gateway'], family),
                             route=route))
        if not any(r['gateway'] == gateway for r in mine):
            onlink = needs_onlink(gateway, addresses)
            acts.append(_act('route_add', 'add default route via %s dev %s%s' % (
                gateway, want['ifname'], ' onlink' if onlink else ''), family=family, gateway=gateway, onlink=onlink))
    return acts


def plan_present(want, have):
    """Actions (in order) that bring the live state ``have`` to ``want``. Pure."""
    acts = []
    veth = want['mode'] == 'veth'
    link = have['container_link']
    ifname, mac = want['ifname'], want['mac']
    mtu = want['mtu'] or want['mtu_create']
    if not veth and link and (link['link'] != want['parent_index'] or link['macvlan_mode'] != want['macvlan_mode']):
        acts.append(_act('delete_container', 'delete macvlan %s (parent or macvlan mode changes)' % ifname))
        link = None
    new = link is None
    host = have['host_link']['ifname'] if have['host_link'] else want['host_ifname']
    if new and veth and have['ovs_port']:
        # The container restarted: its old veth is gone, the OVS port is still there. ovs-vswitchd
        # keeps the old netdev if the port is deleted and re-added in one transaction (the userspace
        # datapath then receives nothing), so the stale port goes in a transaction of its own first.
        args = ['--', '--if-exists', 'del-port', host]
        acts.append(_act('ovs', 'ovs-vsctl %s (stale port, its veth is gone)' % ' '.join(args), args=args))
    if new and veth:
        acts.append(_act('create_veth', 'create veth %s <-> %s (mtu %d, mac %s)' % (host, ifname, mtu, mac),
                         host=host))
    elif new:
        acts.append(_act('create_macvlan', 'create macvlan %s on %s (mode %s, mtu %d, mac %s)' % (
            ifname, want['parent'], want['macvlan_mode'], mtu, mac)))
    else:
        if want['mtu'] and link['mtu'] != mtu:
            acts.append(_act('set_container', 'set mtu %d on %s (was %d)' % (mtu, ifname, link['mtu']), attrs={'mtu': mtu}))
        if link['mac'] != mac:
            acts.append(_act('set_container', 'set mac %s on %s (was %s)' % (mac, ifname, link['mac']), attrs={'address': mac}))
        if veth and want['mtu'] and have['host_link']['mtu'] != mtu:
            acts.append(_act('set_host', 'set mtu %d on %s (was %d)' % (mtu, host, have['host_link']['mtu']),
                             host=host, attrs={'mtu': mtu}))
    if veth:
        master = have['host_master']
        if want['bridge_type'] == 'ovs' and master and master['kind'] == 'bridge':
            acts.append(_act('set_host', 'release %s from Linux bridge %s' % (host, master['ifname']),
                             host=host, attrs={'master': 0}))
        args = ovs_args(want, have, host, new)
        if args:
            acts.append(_act('ovs', 'ovs-vsctl ' + ' '.join(args), args=args))
        if want['bridge_type'] == 'linux' and (master is None or master['index'] != want['bridge_index']):
            acts.append(_act('set_host', 'add %s to Linux bridge %s' % (host, want['bridge']),
                             host=host, attrs={'master': want['bridge_index']}))
        if new or not have['host_link']['up']:
            acts.append(_act('set_host', 'set %s up' % host, host=host, attrs={'state': 'up'}))
    if new or not link['up']:
        acts.append(_act('set_container', 'set %s up' % ifname, attrs={'state': 'up'}))
    if have['ipv6_disabled'] and wants_ipv6(want):
        acts.append(_act('enable_ipv6', 'enable IPv6 on %s (disable_ipv6=0)' % ifname))
    current = [] if new else have['addresses']
    addresses = current
    if want['addresses'] is not None:
        for address in current:
            if address not in want['addresses'] and not is_link_local(address):
                acts.append(_act('addr_del', 'delete address %s from %s' % (address, ifname), address=address))
        for address in want['addresses']:
            if address not in current:
                acts.append(_act('addr_add', 'add address %s to %s' % (address, ifname), address=address))
        addresses = want['addresses']
    acts += plan_routes(want, have, new, addresses)
    if want['dhcp'] and not has_ipv4(current):
        acts.append(_act('dhcp', 'run %s on %s' % (want['dhcp_client'][0], ifname)))
    return acts


def plan_absent(want, have):
    """Actions that detach: OVS ports first (as ovs-docker del-port), then the links. Pure."""
    acts = []
    if have['ovs_delete']:
        args = []
        for port in have['ovs_delete']:
            args += ['--', '--if-exists', 'del-port', port]
        acts.append(_act('ovs', 'ovs-vsctl ' + ' '.join(args), args=args))
    for name in have['host_delete']:
        acts.append(_act('delete_host', 'delete veth %s (and its peer)' % name, host=name))
    if want['mode'] == 'macvlan' and have['container_link']:
        acts.append(_act('delete_container', 'delete macvlan %s' % want['ifname']))
    return acts


def view_have(want, have):
    """The attachment as it is (diff 'before')."""
    if want['state'] == 'absent':
        present = bool(have['ovs_delete'] or have['host_delete'] or have['container_link'])
        return {'state': 'present' if present else 'absent', 'ifname': want['ifname']}
    link = have['container_link']
    if link is None:
        return {'state': 'absent', 'ifname': want['ifname']}
    view = {'state': 'present', 'ifname': want['ifname'], 'mac': link['mac'], 'mtu': link['mtu'],
            'addresses': list(have['addresses'])}
    if want['mode'] == 'veth':
        port, master = have['ovs_port'], have['host_master']
        view.update(host_ifname=have['host_link']['ifname'], vlan=port['tag'] if port else None,
                    bridge=port['bridge'] if port else (master['ifname'] if master else None),
                    bridge_type='ovs' if port else ('linux' if master else None))
    else:
        view['parent'] = have['parent_name']
    return view


def view_want(want, have, before):
    """The attachment as it will be (diff 'after')."""
    if want['state'] == 'absent':
        return {'state': 'absent', 'ifname': want['ifname']}
    link = have['container_link']
    mtu = want['mtu'] or (link['mtu'] if link and before['state'] == 'present' else want['mtu_create'])
    view = {'state': 'present', 'ifname': want['ifname'], 'mac': want['mac'], 'mtu': mtu}
    if want['addresses'] is not None:
        view['addresses'] = list(want['addresses'])
    else:
        view['addresses'] = list(before.get('addresses', []))
    if want['mode'] == 'veth':
        view.update(host_ifname=have['host_link']['ifname'] if have['host_link'] else want['host_ifname'],
                    bridge=want['bridge'], bridge_type=want['bridge_type'], vlan=want['vlan'])
    else:
        view['parent'] = want['parent']
    return view


# ---------------------------------------------------------------------------------------------
# Reading the live state
# ---------------------------------------------------------------------------------------------

def resolve_target(params):
    """Find the target's namespace. Returns dict(netns=path|None, pid=int|None, container=dict|None)."""
    if params['container'] is not None:
        info = inspect_container(docker_socket_path(params['docker_host']), params['container'])
        if info is None:
            if params['state'] == 'present':
                raise AttachError('container: %s not found by the Docker daemon' % params['container'])
            return {'netns': None, 'pid': None, 'container': None}
        target = container_target(info)
        if not target['running']:
            if params['state'] == 'present':
                raise AttachError('container: %s is not running' % params['container'])
            return {'netns': None, 'pid': None, 'container': target}
        path = netns_path_for_pid(target['pid'], 'container')
        result = {'netns': path, 'pid': target['pid'], 'container': target}
    else:
        try:
            if params['netns'] is not None:
                result = {'netns': netns_path_for_name(params['netns']), 'pid': None, 'container': None}
            else:
                result = {'netns': netns_path_for_pid(params['pid']), 'pid': params['pid'], 'container': None}
        except TargetError:
            if params['state'] == 'present':
                raise
            # Nothing left to detach inside; OVS ports may still be there.
            return {'netns': None, 'pid': None, 'container': None}
    if same_netns(result['netns'], '/proc/self/ns/net'):
        raise AttachError('the target uses the host network namespace (--net=host?); nothing to attach')
    return result


def bridge_mtu(link, ovs_bridge):
    """The MTU a bridge stands for: an OVS bridge's mtu_request when set (its current MTU follows
    its smallest port otherwise), else the MTU of the bridge's own interface."""
    if ovs_bridge and ovs_bridge['mtu_request']:
        return ovs_bridge['mtu_request']
    if link:
        return link['mtu']
    return ovs_bridge['mtu'] if ovs_bridge else None


def default_mtu(limit, vlan):
    """MTU of a new link when none is given: the bridge's (or parent's), 4 bytes less on an access
    port. Its frames leave through trunk ports, tunnels included, with an 802.1Q tag, which an
    overlay MTU computed for untagged frames has no room for: full-size packets would be lost
    without an error (measured in the lab: 1450-byte VXLAN overlay, DF pings of 1422 bytes lost
    in a VLAN, 1418 passing)."""
    if not limit:
        return 1500
    return limit - VLAN_TAG_LEN if vlan else limit


def build_want(runner, params, opts, target, host_ipr, snapshot, ovs_error):
    """Everything the run wants, with the bridge/parent looked up; raise AttachError first."""
    ident, recorded = identity(params, target['container'])
    want = dict(opts, mode=params['mode'], state=params['state'], bridge=params['bridge'],
                parent=params['parent'], macvlan_mode=params['macvlan_mode'], dhcp=params['dhcp'],
                default_route=params['default_route'], identity=ident,
                host_ifname=host_ifname(ident, opts['ifname']),
                external_ids={'container_id': recorded, 'container_iface': opts['ifname']},
                aliases=container_aliases(recorded, target['container']))
    want['mac'] = opts['mac'] or derive_mac(ident, opts['ifname'])
    if params['state'] == 'absent':
        return want
    if params['mode'] == 'veth':
        bridge = link_state(host_ipr, params['bridge'])
        if bridge and bridge['kind'] == 'bridge':
            want.update(bridge_type='linux', bridge_index=bridge['index'])
            if opts['vlan'] is not None:
                raise AttachError('vlan: %s is a Linux bridge; VLAN tags need an Open vSwitch bridge' % params['bridge'])
        elif snapshot and params['bridge'] in snapshot['bridges']:
            want.update(bridge_type='ovs', bridge_index=None)
        else:
            raise AttachError('bridge: %s is neither a Linux bridge nor an Open vSwitch bridge on this host%s' % (
                params['bridge'], ' (ovs-vsctl: %s)' % ovs_error if ovs_error else ''))
        limit, what = bridge_mtu(bridge, snapshot['bridges'].get(params['bridge']) if snapshot else None), 'bridge'
    else:
        parent = link_state(host_ipr, params['parent'])
        if parent is None:
            raise AttachError('parent: interface %s does not exist' % params['parent'])
        want['parent_index'] = parent['index']
        limit, what = parent['mtu'], 'parent'
    # A new link gets default_mtu(); an existing one keeps its MTU unless mtu is given.
    want['mtu_create'] = opts['mtu'] or default_mtu(limit, opts['vlan'])
    if opts['mtu'] and limit and opts['mtu'] > limit:
        raise AttachError('mtu: %d is above the MTU of %s %s (%d); note that a bridge without a fixed MTU '
                          '(OVS mtu_request) follows its smallest port' % (opts['mtu'], what, params[what], limit))
    if want['dhcp']:
        root = '/proc/%d/root' % target['pid'] if target['pid'] else '/'
        want['dhcp_client'] = find_dhcp_client(root)
        if want['dhcp_client'] is None:
            raise AttachError('dhcp: no DHCP client (udhcpc, dhclient) found in the target')
        want['nsenter'] = runner.get_bin_path('nsenter')
        if want['nsenter'] is None:
            raise AttachError('dhcp: nsenter (util-linux) is needed on the host')
    return want


def read_have(want, host_ipr, ns_ipr, ns_path, snapshot):
    """Read the live state once; raise AttachError when a name is taken by something else."""
    ifname, derived = want['ifname'], want['host_ifname']
    recorded = ports_for(snapshot, want['aliases'], ifname) if snapshot else []
    have = {'container_link': None, 'host_link': None, 'host_master': None, 'ovs_port': None,
            'ovs_external_ids': {}, 'stale_ports': [], 'addresses': [], 'routes': [], 'parent_name': None,
            'ipv6_disabled': False}
    link = link_state(ns_ipr, ifname) if ns_ipr else None
    if want['state'] == 'absent':
        return _read_absent(want, have, host_ipr, link, recorded, snapshot)
    host = None
    if link and want['mode'] == 'veth':
        if link['kind'] != 'veth':
            raise AttachError('ifname: %s exists in the target already, a %s interface that this module did not make' % (ifname, link['kind'] or 'non-virtual'))
        peer = link_state(host_ipr, index=link['link']) if link['link'] else None
        if not (peer and peer['kind'] == 'veth' and peer['link'] == link['index']):
            raise AttachError('ifname: %s is taken in the target by a veth whose peer is not in the host namespace' % ifname)
        if peer['ifname'] != derived and peer['ifname'] not in recorded:
            raise AttachError('ifname: %s is taken in the target by a veth to host interface %s, which is not '
                              'recorded for this container (neither by this module nor by ovs-docker)' % (ifname, peer['ifname']))
        host = peer
    elif link:
        if link['kind'] != 'macvlan':
            raise AttachError('ifname: %s exists in the target already, a %s interface that this module did not make' % (ifname, link['kind'] or 'non-virtual'))
        parent = link_state(host_ipr, index=link['link']) if link['link'] else None
        have['parent_name'] = parent['ifname'] if parent else None
    elif want['mode'] == 'veth':
        host = link_state(host_ipr, derived)
        if host:
            raise AttachError('host interface %s (the name derived for %s) exists already and is not connected to '
                              '%s in the target; delete it or choose another ifname' % (derived, want['identity'], ifname))
    if link:
        have['addresses'] = link_addresses(ns_ipr, link['index'])
    have['routes'] = default_routes(ns_ipr)
    if wants_ipv6(want):
        # A new link inherits conf/default; no IPv6 at all in the kernel reads as disabled.
        try:
            have['ipv6_disabled'] = ns_sysctl(ns_path, 'ipv6/conf/%s/disable_ipv6' % (ifname if link else 'default')) == '1'
        except OSError:
            raise AttachError('address: IPv6 is not available in the target (no /proc/sys/net/ipv6)')
    have['container_link'], have['host_link'] = link, host
    name = host['ifname'] if host else derived
    if host and host['master']:
        have['host_master'] = link_state(host_ipr, index=host['master'])
    if snapshot and want['mode'] == 'veth':
        have['ovs_port'] = snapshot['ports'].get(name)
        have['ovs_external_ids'] = snapshot['interfaces'].get(name, {}).get('external_ids', {})
        # Ports recorded for this container and ifname whose veth is gone (container restarted,
        # or re-created under the same name): dropped in the same transaction.
        have['stale_ports'] = [p for p in recorded if p != name and link_state(host_ipr, p) is None]
    return have


def _read_absent(want, have, host_ipr, link, recorded, snapshot):
    derived = want['host_ifname']
    candidates = sorted(set(recorded) | {derived})
    have['ovs_delete'] = [p for p in candidates if snapshot and p in snapshot['ports']]
    have['host_delete'] = []
    for name in candidates:
        host = link_state(host_ipr, name)
        if host and host['kind'] == 'veth':
            have['host_delete'].append(name)
    if link and want['mode'] == 'macvlan' and link['kind'] == 'macvlan':
        have['container_link'] = link
    return have


# ---------------------------------------------------------------------------------------------
# Acting
# ---------------------------------------------------------------------------------------------

def run_dhcp(runner, want, target, ns_ipr):
    client, path = want['dhcp_client']
    ifname = want['ifname']
    if target['pid']:
        # The container's own mount namespace, so its client and files are used; not its PID
        # namespace, so a dhclient daemon's pid is a host pid we can stop.
        argv = [want['nsenter'], '--target', str(target['pid']), '--net', '--mount', '--uts', '--', path]
        root = '/proc/%d/root' % target['pid']
    else:
        argv = [want['nsenter'], '--net=%s' % target['netns'], '--', path]
        root = '/'
    pidfile = '/run/ovsmesh-dhclient-%s.pid' % ifname
    if client == 'udhcpc':
        argv += ['-i', ifname, '-q', '-n', '-t', '5', '-T', '2']
    else:
        argv += ['-1', '-pf', pidfile, ifname]
    rc, out, err = runner.run_command(argv, environ_update=ENVIRON)
    if client == 'dhclient':
        # As pipework does: stop the daemon after the lease, or it would keep the namespace alive.
        try:
            with open(os.path.join(root, pidfile.lstrip('/'))) as handle:
                os.kill(int(handle.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    index = link_state(ns_ipr, ifname)['index']
    if rc != 0 or not has_ipv4(link_addresses(ns_ipr, index)):
        raise AttachError('dhcp: %s got no IPv4 address on %s (rc=%d; for udhcpc, is its default script in the '
                          'target?): %s' % (client, ifname, rc, (err or out).strip()))


def apply(runner, want, target, acts, host_ipr, ns_ipr, ovs_vsctl, done):
    """Run the planned actions in order; ``done`` collects the texts of those that completed."""
    for act in acts:
        try:
            apply_one(runner, want, target, act, host_ipr, ns_ipr, ovs_vsctl)
        except (NetlinkError, OSError) as exc:
            raise AttachError('%s failed: %s (done before: %s)' % (
                act['text'], getattr(exc, 'strerror', None) or exc, '; '.join(done) or 'nothing'))
        done.append(act['text'])


def apply_one(runner, want, target, act, host_ipr, ns_ipr, ovs_vsctl):
    """Run one planned action."""
    ifname, op = want['ifname'], act['op']

    def container_index():
        return link_state(ns_ipr, ifname)['index']

    if op in ('create_veth', 'create_macvlan'):
        fd = os.open(target['netns'], os.O_RDONLY)
        try:
            if op == 'create_veth':
                create_veth(host_ipr, act['host'], ifname, fd, want['mtu'] or want['mtu_create'], want['mac'])
            else:
                create_macvlan(host_ipr, ifname, want['parent_index'], MACVLAN_MODES[want['macvlan_mode']],
                               fd, want['mtu'] or want['mtu_create'], want['mac'])
        finally:
            os.close(fd)
    elif op == 'delete_container':
        delete_link(ns_ipr, container_index())
    elif op == 'delete_host':
        delete_link(host_ipr, link_state(host_ipr, act['host'])['index'])
    elif op == 'set_container':
        set_link(ns_ipr, container_index(), **act['attrs'])
    elif op == 'set_host':
        set_link(host_ipr, link_state(host_ipr, act['host'])['index'], **act['attrs'])
    elif op == 'ovs':
        rc, out, err = runner.run_command([ovs_vsctl, '--timeout=%d' % OVS_TIMEOUT] + act['args'],
                                          environ_update=ENVIRON)
        if rc != 0:
            raise AttachError('ovs-vsctl failed (rc=%d): %s' % (rc, (err or out).strip()))
    elif op == 'enable_ipv6':
        ns_sysctl(target['netns'], 'ipv6/conf/%s/disable_ipv6' % ifname, 0)
    elif op == 'addr_add':
        add_address(ns_ipr, container_index(), act['address'])
    elif op == 'addr_del':
        del_address(ns_ipr, container_index(), act['address'])
    elif op == 'route_del':
        del_default_route(ns_ipr, act['route'])
    elif op == 'route_add':
        add_default_route(ns_ipr, act['family'], act['gateway'], container_index(), act['onlink'])
    elif op == 'dhcp':
        run_dhcp(runner, want, target, ns_ipr)


def _failed(result, done, **extra):
    # A failure half-way leaves the completed actions in place: say which, and that it changed.
    failure = dict(result)
    failure.update(extra, changed=bool(done), actions=list(done))
    return failure


@contextlib.contextmanager
def attach_lock(path=LOCK_PATH):
    """Hold an exclusive lock on ``path`` (module and daemon never act on links at the same time)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def attach(runner, params, check_mode=False, diff=False):
    """The whole of container_attach without Ansible: validate, read once, plan, act.

    ``params``: the module's parameters. Returns the module result (changed, actions, attachment,
    pid, container_id, diff). Raises ValueError for bad input (nothing read, nothing changed) and
    AttachError when the target or the host refuses; its ``result`` says what was done.
    """
    opts = validate_params(params)
    result = {'changed': False, 'actions': []}
    host_ipr = ns_ipr = None
    done = []
    try:
        with attach_lock():
            target = resolve_target(params)
            result['pid'] = target['pid']
            if params['container'] is not None:
                result['container_id'] = target['container']['id'] if target['container'] else None
            # OVS is read when a bridge may be an OVS one, and on detach (ovs-docker's ports too).
            ovs_vsctl = runner.get_bin_path('ovs-vsctl')
            snapshot, ovs_error = None, 'not installed'
            if ovs_vsctl and (params['mode'] == 'veth' or params['state'] == 'absent'):
                snapshot, ovs_error = read_snapshot(runner, ovs_vsctl)
            host_ipr = open_ns()
            ns_ipr = open_ns(target['netns']) if target['netns'] else None
            want = build_want(runner, params, opts, target, host_ipr, snapshot, ovs_error)
            have = read_have(want, host_ipr, ns_ipr, target['netns'], snapshot)
            acts = plan_present(want, have) if params['state'] == 'present' else plan_absent(want, have)
            before = view_have(want, have)
            after = view_want(want, have, before)
            result.update(changed=bool(acts), actions=[a['text'] for a in acts], attachment=after)
            if diff:
                result['diff'] = {'before': before, 'after': after}
            if acts and not check_mode:
                apply(runner, want, target, acts, host_ipr, ns_ipr, ovs_vsctl, done)
                if params['state'] == 'present':
                    # Report what is really there (the DHCP lease, for one).
                    index = link_state(ns_ipr, want['ifname'])['index']
                    result['attachment']['addresses'] = link_addresses(ns_ipr, index)
    except (AttachError, TargetError) as exc:
        raise AttachError(str(exc), _failed(result, done))
    except (NetlinkError, OSError) as exc:
        raise AttachError('reading the live state failed: %s' % exc,
                          _failed(result, done, exception=traceback.format_exc()))
    finally:
        for ipr in (ns_ipr, host_ipr):
            if ipr is not None:
                ipr.close()
    return result


# ---------------------------------------------------------------------------------------------
# Open vSwitch: one read of the three tables (parsed by _ovs), ports recorded for a container
# ---------------------------------------------------------------------------------------------

def snapshot_argv(ovs_vsctl):
    """argv of the single read: the columns an attachment needs from Bridge, Port and Interface."""
    return [ovs_vsctl, '--timeout=%d' % OVS_TIMEOUT, '--format=json',
            '--', '--columns=_uuid,name,ports', 'list', 'Bridge',
            '--', '--columns=_uuid,name,tag,interfaces,other_config', 'list', 'Port',
            '--', '--columns=_uuid,name,external_ids,mtu,mtu_request', 'list', 'Interface']


def _int_or_none(value):
    # OVSDB's "no value" is the empty set ([]).
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_snapshot(stdout):
    """``_ovs.build_state`` of the snapshot, plus what attachments look at: a port's ``tag``
    (int or None) and ``other_config``, an interface's ``mtu`` and ``external_ids``, and a
    bridge's ``mtu``/``mtu_request`` (those of its own internal interface)."""
    state = build_state(*parse_tables(stdout))
    for iface in state['interfaces'].values():
        iface['mtu'] = _int_or_none(iface.get('mtu'))
        iface['external_ids'] = iface.get('external_ids') or {}
    for port in state['ports'].values():
        port['tag'] = _int_or_none(port.get('tag'))
        port['other_config'] = port.get('other_config') or {}
    for name, bridge in state['bridges'].items():
        iface = state['interfaces'].get(name, {})
        bridge['mtu'], bridge['mtu_request'] = iface.get('mtu'), iface.get('mtu_request')
    return state


def read_snapshot(runner, ovs_vsctl):
    """Read Bridge, Port and Interface in one ``ovs-vsctl`` call. Returns (snapshot, error)."""
    rc, out, err = runner.run_command(snapshot_argv(ovs_vsctl), environ_update=ENVIRON)
    if rc != 0:
        return None, (err or out).strip()
    return parse_snapshot(out), None


def ports_for(snapshot, aliases, ifname):
    """Names of OVS interfaces recorded (ovs-docker style) for one of ``aliases`` and ``ifname``."""
    return sorted(name for name, iface in snapshot['interfaces'].items()
                  if iface['external_ids'].get('container_iface') == ifname
                  and iface['external_ids'].get('container_id') in aliases)


def dead_ports(snapshot, aliases, exists):
    """Ports recorded (ovs-docker style, any interface) for one of ``aliases`` whose netdev is
    gone (``exists(name)`` false): what a removed container leaves behind on the bridge."""
    return sorted(name for name, iface in snapshot['interfaces'].items()
                  if name in snapshot['ports'] and 'container_iface' in iface['external_ids']
                  and iface['external_ids'].get('container_id') in aliases and not exists(name))


def remove_dead_ports(runner, aliases):
    """Delete the dead_ports() of a removed container in one transaction; return their names."""
    ovs_vsctl = runner.get_bin_path('ovs-vsctl')
    if not ovs_vsctl:
        return []
    with attach_lock():
        snapshot, error = read_snapshot(runner, ovs_vsctl)
        if error:
            raise AttachError('reading the Open vSwitch database failed: %s' % error)
        ipr = open_ns()
        try:
            names = dead_ports(snapshot, aliases, lambda name: link_state(ipr, name) is not None)
        finally:
            ipr.close()
        if names:
            argv = [ovs_vsctl, '--timeout=%d' % OVS_TIMEOUT]
            for name in names:
                argv += ['--', '--if-exists', 'del-port', name]
            rc, out, err = runner.run_command(argv, environ_update=ENVIRON)
            if rc != 0:
                raise AttachError('ovs-vsctl failed (rc=%d): %s' % (rc, (err or out).strip()))
    return names


# ---------------------------------------------------------------------------------------------
# Persistence records (written by the module, read by ovsmesh-attachd)
# ---------------------------------------------------------------------------------------------

def record_name(container, ifname):
    """File name of the record of ``container`` / ``ifname``; ValueError if it cannot name one."""
    if not isinstance(container, str) or not _RECORD_CONTAINER_RE.match(container):
        raise ValueError('container: %r cannot name a persistence record; give the container name or id'
                         % (container,))
    return '%s@%s.json' % (container, ifname)


def record_text(params, opts):
    """The record of a persistent attachment: the options, normalised (addresses sorted, MAC
    lower case, ...), as sorted JSON, so the same attachment always gives the same bytes."""
    values = dict((key, params[key]) for key in RECORD_KEYS)
    values.update(ifname=opts['ifname'], address=opts['addresses'], mac=opts['mac'], mtu=opts['mtu'],
                  vlan=opts['vlan'], gateway=[opts['gateways'][f] for f in sorted(opts['gateways'])] or None)
    return json.dumps({'version': RECORD_VERSION, 'attachment': values}, indent=2, sort_keys=True) + '\n'


def record_params(record):
    """Module parameters (state present, persist) that re-apply a loaded record."""
    values = record.get('attachment') if isinstance(record, dict) else None
    if not isinstance(values, dict) or record.get('version') != RECORD_VERSION:
        raise ValueError('not an attachment record of version %d' % RECORD_VERSION)
    missing = [key for key in RECORD_KEYS if key not in values]
    if missing:
        raise ValueError('the record lacks %s' % ', '.join(missing))
    params = dict((key, values[key]) for key in RECORD_KEYS)
    params.update(netns=None, pid=None, state='present', persist=True)
    return params


def load_records(directory=RECORD_DIR):
    """([(path, params)], [(path, error)]): the valid records in ``directory``, and the others."""
    records, errors = [], []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return records, errors
    for name in names:
        if name.startswith('.') or not name.endswith('.json'):
            continue  # a temporary file of an atomic write (.ansible_tmp...), or something else
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                params = record_params(json.load(handle))
            validate_params(params)
        except (OSError, ValueError) as exc:
            errors.append((path, str(exc)))
            continue
        records.append((path, params))
    return records, errors


def keyed_by_id(given, container_id):
    """True if ``given`` (the record's container) is the id, or an id prefix of 12+ digits, of
    ``container_id``: such a record can never match another container."""
    return bool(container_id and _HEX_RE.match(given) and container_id.startswith(given))


def record_matches(params, container_id, name):
    """True if a record is about the container of an event (its full id and its name)."""
    return params['container'] == name or keyed_by_id(params['container'], container_id)
