#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: container_attach
short_description: Attach a container to an Open vSwitch or Linux bridge (pipework / ovs-docker, idempotent)
version_added: 0.1.0
description:
  - Gives a running Docker container (or a named network namespace, or a process) an extra
    interface, like C(pipework) and C(ovs-docker add-port) do, but idempotently.
  - In O(mode=veth), a veth pair joins the target to O(bridge), an Open vSwitch bridge or a
    Linux bridge (detected). The container side is named O(ifname); the host side gets a stable
    name derived from the container id and O(ifname) (C(vo) and 12 hex digits), so a later
    run, or a run after the container restarted, finds it again.
  - In O(mode=macvlan), a macvlan interface on O(parent) is given to the target instead (no host
    side, no bridge), as C(pipework) does for a physical interface.
  - On Open vSwitch the Interface gets C(external_ids:container_id) and
    C(external_ids:container_iface) exactly as C(ovs-docker) records them, so either tool finds
    the other's ports (C(ovs-docker del-port BRIDGE eth1 CONTAINER) removes a port made here, and
    this module adopts or removes a port C(ovs-docker add-port) made).
  - The port settings are written as one C(ovs-vsctl) transaction. Every link, address and route
    operation goes through netlink (pyroute2); nothing calls C(ip).
  - Address, MAC, MTU and VLAN changes are made in place, without re-creating the link.
  - All input and the target are checked before anything changes.
author:
  - ovsmesh maintainers (@ovsmesh)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
requirements:
  - pyroute2 on the managed host (Python library).
  - Open vSwitch (C(ovs-vsctl)) when O(bridge) is an Open vSwitch bridge.
  - C(nsenter) (util-linux) and a DHCP client in the target when O(dhcp=true).
  - Root on the managed host.
notes:
  - The attachment lives in the container's network namespace, so it disappears when the container
    stops. Run the task again after a restart; the host-side name and the OVS port are the same,
    and a stale OVS port is reused.
  - With the userspace datapath of Open vSwitch (C(datapath_type=netdev)), TCP through veth ports
    may need checksum offload disabled in the container; ICMP and UDP are not affected.
options:
  container:
    description:
      - Name or id of a running Docker container. Its network namespace is found through the
        Docker Engine API (C(/containers/<container>/json), C(State.Pid)).
      - Recorded as given in the OVS Interface's C(external_ids:container_id), as C(ovs-docker) does.
      - With O(state=absent), a stopped or removed container is fine; its OVS ports are removed.
    type: str
  netns:
    description:
      - Name of a network namespace in C(/var/run/netns) (as made by C(ip netns add)).
    type: str
  pid:
    description:
      - A process whose network namespace is the target (for containers not run by Docker).
      - The host-side name derives from the PID, so it changes when the process does.
    type: int
  docker_host:
    description:
      - The Docker daemon's socket, only C(unix://) URLs. Falls back to the E(DOCKER_HOST)
        environment variable.
    type: str
    default: unix:///var/run/docker.sock
  mode:
    description:
      - V(veth) connects a veth pair to O(bridge); V(macvlan) creates a macvlan on O(parent).
    type: str
    choices: [veth, macvlan]
    default: veth
  bridge:
    description:
      - Bridge to connect to in O(mode=veth), an Open vSwitch bridge or a Linux bridge; it must exist.
      - Required with O(mode=veth) and O(state=present).
    type: str
  parent:
    description:
      - Host interface the macvlan is made on in O(mode=macvlan). Required with O(mode=macvlan)
        and O(state=present).
    type: str
  macvlan_mode:
    description:
      - Mode of the macvlan. A change re-creates the interface (its addresses are set again).
    type: str
    choices: [bridge, private, vepa, passthru]
    default: bridge
  ifname:
    description:
      - Name of the interface inside the target. Must not be taken by another interface there.
    type: str
    default: eth1
  address:
    description:
      - Addresses with prefix length (IPv4 and/or IPv6), as a list or a comma-separated string,
        for example V(10.0.0.2/24).
      - When given, the interface has exactly these addresses afterwards (kernel IPv6 link-local
        addresses are kept). When not given, addresses are left as they are.
    type: list
    elements: str
  dhcp:
    description:
      - Get an IPv4 address by DHCP, with a client found in the target (C(udhcpc), then
        C(dhclient)) run through C(nsenter). Only when the interface has no IPv4 address yet.
      - The lease is taken once, as by C(pipework); it is not renewed. C(udhcpc) needs its
        default script in the container to set the address (C(/usr/share/udhcpc/default.script),
        or C(/etc/udhcpc/default.script) for Debian's busybox).
    type: bool
    default: false
  gateway:
    description:
      - Default gateway(s) through O(ifname), at most one IPv4 and one IPv6 address.
      - The default route is added when the target has none for that family, or when its current
        one already goes through O(ifname). A default route through another interface (for
        example Docker's C(eth0)) is replaced only with O(default_route=true).
    type: list
    elements: str
  default_route:
    description:
      - Make O(gateway) the only default route of its family in the target, removing the others.
    type: bool
    default: false
  mac:
    description:
      - MAC address of the interface in the target. Default, a locally administered unicast
        address derived from the container id and O(ifname), the same on every run.
    type: str
  mtu:
    description:
      - MTU of the interface, set on both ends of the veth pair. Default, the MTU of O(bridge)
        (or O(parent)); a larger value is refused.
    type: int
  vlan:
    description:
      - VLAN (1..4094) for the OVS port as an access port (C(tag)). Only on an Open vSwitch bridge.
      - Not given, the port has no tag (a tag that is set is removed).
    type: int
  state:
    description:
      - V(present) attaches; V(absent) detaches (removes the OVS port and the veth pair or the macvlan).
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Whether the attachment should be restored when the container restarts. The module only
        returns this value, for a persistence service to read; it does not act on it.
    type: bool
    default: false
seealso:
  - name: pipework
    description: The shell script this module replaces.
    link: https://github.com/jpetazzo/pipework
  - name: ovs-docker
    description: Open vSwitch's own script, whose external_ids this module records.
    link: https://github.com/openvswitch/ovs/blob/main/utilities/ovs-docker
"""

EXAMPLES = r"""
- name: Attach container web to OVS bridge br0 in VLAN 100
  ovsmesh.overlay.container_attach:
    container: web
    bridge: br0
    address: 192.168.0.10/24
    vlan: 100

- name: Dual stack, replace Docker's default route
  ovsmesh.overlay.container_attach:
    container: web
    bridge: br0
    ifname: eth1
    address:
      - 172.17.0.101/16
      - fd00:17::101/64
    gateway: [172.17.0.1, "fd00:17::1"]
    default_route: true
    mtu: 1450

- name: Linux bridge, address by DHCP
  ovsmesh.overlay.container_attach:
    container: app
    bridge: docker0
    dhcp: true

- name: A macvlan on eth0
  ovsmesh.overlay.container_attach:
    container: app
    mode: macvlan
    parent: eth0
    address: 10.10.101.150/24

- name: Detach
  ovsmesh.overlay.container_attach:
    container: web
    ifname: eth1
    state: absent
"""

RETURN = r"""
actions:
  description: What was changed (what would be, in check mode), in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample:
    - create veth vo3f2a9c1d0b7e <-> eth1 (mtu 1500, mac 02:5c:1e:77:a0:3b)
    - ovs-vsctl -- add-port br0 vo3f2a9c1d0b7e tag=100 -- set Interface vo3f2a9c1d0b7e
      external_ids:container_id=web external_ids:container_iface=eth1
    - set vo3f2a9c1d0b7e up
    - set eth1 up
    - add address 192.168.0.10/24 to eth1
attachment:
  description: The attachment as it is after the run (as it would be, in check mode).
  returned: always
  type: dict
  contains:
    state:
      description: V(present) or V(absent).
      type: str
      returned: always
    ifname:
      description: Interface name in the target.
      type: str
      returned: always
    host_ifname:
      description: Host-side veth name (O(mode=veth)).
      type: str
      returned: when present in mode veth
    bridge:
      description: Bridge the host side is connected to.
      type: str
      returned: when present in mode veth
    bridge_type:
      description: V(ovs) or V(linux).
      type: str
      returned: when present in mode veth
    vlan:
      description: OVS access VLAN, V(null) for none.
      type: int
      returned: when present in mode veth
    parent:
      description: Parent interface of the macvlan.
      type: str
      returned: when present in mode macvlan
    mac:
      description: MAC address of the interface in the target.
      type: str
      returned: when present
    mtu:
      description: MTU of the interface (both ends).
      type: int
      returned: when present
    addresses:
      description: Addresses on the interface (after DHCP, the leased one).
      type: list
      elements: str
      returned: when present
  sample:
    state: present
    ifname: eth1
    host_ifname: vo3f2a9c1d0b7e
    bridge: br0
    bridge_type: ovs
    vlan: 100
    mac: 02:5c:1e:77:a0:3b
    mtu: 1500
    addresses: [192.168.0.10/24]
container_id:
  description: Full id of the container (O(container) only; V(null) if Docker does not know it).
  returned: when O(container) is given
  type: str
  sample: 9c523a14cfdaad5ed6dc85a9fd6489443a0e6e9cc187739e9e360894436243d4
pid:
  description: PID whose network namespace was used; V(null) when there was none (stopped container, O(netns)).
  returned: always
  type: int
  sample: 25399
persist:
  description: The O(persist) option, recorded for a persistence service.
  returned: always
  type: bool
  sample: false
"""

import ipaddress
import json
import os
import re
import signal
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.ovsmesh.overlay.plugins.module_utils._container import (
    DEFAULT_DOCKER_HOST,
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
    ENV,
    HAS_PYROUTE2,
    MACVLAN_MODES,
    MTU_MAX,
    MTU_MIN,
    MTU_MIN_IPV6,
    OVS_TIMEOUT,
    PYROUTE2_IMPORT_ERROR,
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
    ovs_ports_for,
    ovs_snapshot,
    set_link,
    validate_ifname,
    validate_int,
)


class AttachError(Exception):
    """The attachment cannot be made as asked; the message names the problem."""


# ---------------------------------------------------------------------------------------------
# Pure part: validation, want, plan, view
# ---------------------------------------------------------------------------------------------

def validate_params(params):
    """Check and normalise the options that need no I/O; raise ValueError naming the field."""
    present = params['state'] == 'present'
    veth = params['mode'] == 'veth'
    opts = {'ifname': validate_ifname(params['ifname'], 'ifname')}
    if veth:
        if params['parent'] is not None:
            raise ValueError('parent: only used with mode=macvlan (mode is veth)')
        if present and not params['bridge']:
            raise ValueError('bridge: required with mode=veth and state=present')
        if params['bridge']:
            validate_ifname(params['bridge'], 'bridge')
    else:
        if params['bridge'] is not None:
            raise ValueError('bridge: only used with mode=veth (mode is macvlan)')
        if params['vlan'] is not None:
            raise ValueError('vlan: only with mode=veth on an Open vSwitch bridge')
        if present and not params['parent']:
            raise ValueError('parent: required with mode=macvlan and state=present')
        if params['parent']:
            validate_ifname(params['parent'], 'parent')
    opts['vlan'] = None if params['vlan'] is None else validate_int(params['vlan'], 'vlan', 1, 4094)
    opts['mtu'] = None if params['mtu'] is None else validate_int(params['mtu'], 'mtu', MTU_MIN, MTU_MAX)
    opts['mac'] = None if params['mac'] is None else normalise_mac(params['mac'], 'mac')
    opts['addresses'] = None if params['address'] is None else normalise_addresses(params['address'], 'address')
    opts['gateways'] = normalise_gateways(params['gateway'] or [], 'gateway')
    if params['pid'] is not None and params['pid'] < 1:
        raise ValueError('pid: %d is not a process id' % params['pid'])
    if opts['mtu'] is not None and opts['mtu'] < MTU_MIN_IPV6 and wants_ipv6(opts):
        raise ValueError('mtu: %d is below %d, the minimum for IPv6 addresses' % (opts['mtu'], MTU_MIN_IPV6))
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


def ovs_value(value):
    """Quote a string for an ovs-vsctl column argument unless it is a bare token."""
    if re.match(r'^[A-Za-z0-9_.-]+$', value):
        return value
    return json.dumps(value)


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
    ids = ['external_ids:%s=%s' % (key, ovs_value(value)) for key, value in sorted(want['external_ids'].items())]
    if port is None or port['bridge'] != want['bridge']:
        if port:
            args += ['--', '--if-exists', 'del-port', host]
        args += ['--', 'add-port', want['bridge'], host]
        args += ['tag=%d' % want['vlan']] if want['vlan'] else []
        args += ['--', 'set', 'Interface', host] + ids
        return args
    if port['tag'] != want['vlan']:
        args += ['--', 'set', 'Port', host, 'tag=%d' % want['vlan']] if want['vlan'] else ['--', 'clear', 'Port', host, 'tag']
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

def resolve_target(module, params):
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


def build_want(module, params, opts, target, host_ipr, snapshot, ovs_error):
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
    # A new link gets the bridge's MTU; an existing one keeps its MTU unless mtu is given.
    want['mtu_create'] = opts['mtu'] or limit or 1500
    if opts['mtu'] and limit and opts['mtu'] > limit:
        raise AttachError('mtu: %d is above the MTU of %s %s (%d); note that a bridge without a fixed MTU '
                          '(OVS mtu_request) follows its smallest port' % (opts['mtu'], what, params[what], limit))
    if want['dhcp']:
        root = '/proc/%d/root' % target['pid'] if target['pid'] else '/'
        want['dhcp_client'] = find_dhcp_client(root)
        if want['dhcp_client'] is None:
            raise AttachError('dhcp: no DHCP client (udhcpc, dhclient) found in the target')
        want['nsenter'] = module.get_bin_path('nsenter')
        if want['nsenter'] is None:
            raise AttachError('dhcp: nsenter (util-linux) is needed on the host')
    return want


def read_have(want, host_ipr, ns_ipr, ns_path, snapshot):
    """Read the live state once; raise AttachError when a name is taken by something else."""
    ifname, derived = want['ifname'], want['host_ifname']
    recorded = ovs_ports_for(snapshot, want['aliases'], ifname) if snapshot else []
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

def run_dhcp(module, want, target, ns_ipr):
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
    rc, out, err = module.run_command(argv, environ_update=ENV)
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


def apply(module, want, target, acts, host_ipr, ns_ipr, ovs_vsctl, done):
    """Run the planned actions in order; ``done`` collects the texts of those that completed."""
    for act in acts:
        try:
            apply_one(module, want, target, act, host_ipr, ns_ipr, ovs_vsctl)
        except (NetlinkError, OSError) as exc:
            raise AttachError('%s failed: %s (done before: %s)' % (
                act['text'], getattr(exc, 'strerror', None) or exc, '; '.join(done) or 'nothing'))
        done.append(act['text'])


def apply_one(module, want, target, act, host_ipr, ns_ipr, ovs_vsctl):
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
        rc, out, err = module.run_command([ovs_vsctl, '--timeout=%d' % OVS_TIMEOUT] + act['args'],
                                          environ_update=ENV)
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
        run_dhcp(module, want, target, ns_ipr)


def _failed(result, done, msg, **extra):
    # A failure half-way leaves the completed actions in place: say which, and that it changed.
    failure = dict(result)
    failure.update(extra, msg=msg, changed=bool(done), actions=list(done))
    return failure


def main():
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type='str'),
            netns=dict(type='str'),
            pid=dict(type='int'),
            docker_host=dict(type='str', default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ['DOCKER_HOST'])),
            mode=dict(type='str', choices=['veth', 'macvlan'], default='veth'),
            bridge=dict(type='str'),
            parent=dict(type='str'),
            macvlan_mode=dict(type='str', choices=['bridge', 'private', 'vepa', 'passthru'], default='bridge'),
            ifname=dict(type='str', default='eth1'),
            address=dict(type='list', elements='str'),
            dhcp=dict(type='bool', default=False),
            gateway=dict(type='list', elements='str'),
            default_route=dict(type='bool', default=False),
            mac=dict(type='str'),
            mtu=dict(type='int'),
            vlan=dict(type='int'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('container', 'netns', 'pid'), ('address', 'dhcp'), ('dhcp', 'gateway')],
        required_one_of=[('container', 'netns', 'pid')],
        required_if=[('default_route', True, ('gateway',))],
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib('pyroute2'), exception=PYROUTE2_IMPORT_ERROR)
    params = module.params
    try:
        opts = validate_params(params)
        docker_socket_path(params['docker_host'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    result = {'changed': False, 'actions': [], 'persist': params['persist']}
    host_ipr = ns_ipr = None
    done = []
    try:
        target = resolve_target(module, params)
        result['pid'] = target['pid']
        if params['container'] is not None:
            result['container_id'] = target['container']['id'] if target['container'] else None
        # OVS is read when a bridge may be an OVS one, and on detach (ovs-docker's ports too).
        ovs_vsctl = module.get_bin_path('ovs-vsctl')
        snapshot, ovs_error = None, 'not installed'
        if ovs_vsctl and (params['mode'] == 'veth' or params['state'] == 'absent'):
            snapshot, ovs_error = ovs_snapshot(module, ovs_vsctl)
        host_ipr = open_ns()
        ns_ipr = open_ns(target['netns']) if target['netns'] else None
        want = build_want(module, params, opts, target, host_ipr, snapshot, ovs_error)
        have = read_have(want, host_ipr, ns_ipr, target['netns'], snapshot)
        acts = plan_present(want, have) if params['state'] == 'present' else plan_absent(want, have)
        before = view_have(want, have)
        after = view_want(want, have, before)
        result.update(changed=bool(acts), actions=[a['text'] for a in acts], attachment=after)
        if module._diff:
            result['diff'] = {'before': before, 'after': after}
        if acts and not module.check_mode:
            apply(module, want, target, acts, host_ipr, ns_ipr, ovs_vsctl, done)
            if params['state'] == 'present':
                # Report what is really there (the DHCP lease, for one).
                result['attachment']['addresses'] = link_addresses(ns_ipr, link_state(ns_ipr, want['ifname'])['index'])
    except (AttachError, TargetError) as exc:
        module.fail_json(**_failed(result, done, str(exc)))
    except (NetlinkError, OSError) as exc:
        module.fail_json(**_failed(result, done, 'reading the live state failed: %s' % exc,
                                   exception=traceback.format_exc()))
    finally:
        for ipr in (ns_ipr, host_ipr):
            if ipr is not None:
                ipr.close()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
