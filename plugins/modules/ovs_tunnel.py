#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_tunnel
short_description: Manage GRE, VXLAN and Geneve tunnel ports on an Open vSwitch bridge
version_added: 0.1.0
description:
  - Create, update in place or delete tunnel ports on an existing Open vSwitch bridge, one
    (O(name)) or a whole list (O(tunnels)) at a time.
  - A changed O(remote_ip), key or option updates the interface in place (C(ovs-vsctl set Interface)),
    the port is not deleted and re-added.
  - The module marks the ports it creates with C(external_ids:ovsmesh-managed=true) on the Port
    and never touches a port without that mark. With O(exclusive=true) it deletes the marked
    ports of the bridge that are not in the task, so tunnels to hosts that left are pruned.
  - Keys of O(options) and O(bfd) that the task does not name are left alone; a key whose value
    is V(null) is removed.
  - O(peer) (or O(tunnels[].peer)) records which host a tunnel leads to as
    C(external_ids:ovsmesh-peer) on the Port; a port whose task gives no peer keeps the one it has.
  - Reads the state with one C(ovs-vsctl) call and applies creations, updates and deletions as one
    C(ovs-vsctl) transaction.
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
  - Open vSwitch (C(ovs-vsctl)) on the managed host.
options:
  bridge:
    description:
      - The bridge that holds the tunnel ports. It must exist when O(state=present).
    type: str
    required: true
  name:
    description:
      - Name of a single tunnel port (at most 15 characters of C([A-Za-z0-9_.-]), not starting with C(-)).
      - Mutually exclusive with O(tunnels).
    type: str
  tunnels:
    description:
      - A list of tunnel ports. O(type), O(key), O(dst_port), O(local_ip), O(options) and O(bfd)
        given at module level are defaults for every item; an item's O(tunnels[].options) and
        O(tunnels[].bfd) are merged key by key over the module-level ones.
      - Mutually exclusive with O(name), O(remote_ip) and O(peer).
    type: list
    elements: dict
    suboptions:
      name:
        description: Port name.
        type: str
        required: true
      type:
        description: Tunnel type.
        type: str
        choices: [gre, vxlan, geneve]
      remote_ip:
        description: Remote endpoint, an IPv4/IPv6 address or V(flow).
        type: str
      local_ip:
        description: Local endpoint, an IPv4/IPv6 address or V(flow) (V(flow) needs O(tunnels[].remote_ip=flow)).
        type: str
      key:
        description: Tunnel key (C(options:key)), 0..4294967295 for GRE, 0..16777215 (the VNI) for VXLAN and Geneve.
        type: int
      dst_port:
        description: UDP destination port (C(options:dst_port)), VXLAN and Geneve only.
        type: int
      options:
        description: Other C(Interface options) keys, see O(options).
        type: dict
      bfd:
        description: C(Interface bfd) keys, see O(bfd).
        type: dict
      peer:
        description: The remote host (its inventory hostname), see O(peer).
        type: str
  type:
    description:
      - Tunnel type. Required to create a port; an existing port keeps its type when not given.
    type: str
    choices: [gre, vxlan, geneve]
  remote_ip:
    description:
      - Remote tunnel endpoint (C(options:remote_ip)), an IPv4/IPv6 address or V(flow).
        Required to create a port. An address of this host is refused (a tunnel to itself).
    type: str
  local_ip:
    description:
      - Local tunnel endpoint (C(options:local_ip)), an IPv4/IPv6 address or V(flow).
    type: str
  key:
    description:
      - Tunnel key (C(options:key)), the VNI for VXLAN and Geneve (0..16777215) or the GRE key
        (0..4294967295).
    type: int
  dst_port:
    description:
      - UDP destination port (C(options:dst_port)), VXLAN and Geneve only.
    type: int
  options:
    description:
      - Other keys of the C(Interface options) column, as documented for tunnel interfaces in
        ovs-vswitchd.conf.db(5) - V(in_key), V(out_key), V(tos), V(ttl), V(df_default),
        V(egress_pkt_mark), V(csum), V(psk), V(remote_cert), V(remote_name); V(packet_type) and
        V(seq) for GRE; V(exts) and V(packet_type) for VXLAN. Unknown keys fail.
      - V(remote_ip), V(local_ip), V(key) and V(dst_port) have their own options and are refused here.
    type: dict
  bfd:
    description:
      - Keys of the C(Interface bfd) column, for example C(enable=true), C(min_tx=100) and
        C(min_rx=100) for failover within a fraction of a second under RSTP.
      - Known keys are V(enable), V(min_rx), V(min_tx), V(decay_min_rx), V(forwarding_if_rx),
        V(cpath_down), V(check_tnl_key), V(bfd_local_src_mac), V(bfd_local_dst_mac),
        V(bfd_remote_dst_mac), V(bfd_src_ip), V(bfd_dst_ip), V(oam) and V(mult). Unknown keys fail.
    type: dict
  peer:
    description:
      - The host at the other end of the tunnel, usually its inventory hostname (the C(peer) key of
        the items that the P(ovsmesh.overlay.mesh_tunnels#filter) filter returns). Recorded as
        C(external_ids:ovsmesh-peer) on the Port, with the port's creation or updated in place.
      - Informative only, OVS ignores it. When not given, a port keeps the peer it has.
      - Mutually exclusive with O(tunnels).
    type: str
  exclusive:
    description:
      - With O(state=present), also delete the ports of O(bridge) marked as managed by this
        collection that are not in the task. Unmarked ports are never deleted.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the tunnel ports, V(absent) deletes them.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds C(ovs-vsctl) waits for the database and for C(ovs-vswitchd) (C(--timeout)).
    type: int
    default: 10
notes:
  - A port that exists without the C(ovsmesh-managed) mark makes the task fail. To hand such a port
    over to this module, run C(ovs-vsctl set Port NAME external_ids:ovsmesh-managed=true).
seealso:
  - module: ovsmesh.overlay.ovs_bridge
  - name: ovs-vswitchd.conf.db(5)
    description: The Open vSwitch database schema, tunnel options and BFD in the C(Interface) table.
    link: https://www.openvswitch.org/support/dist-docs/ovs-vswitchd.conf.db.5.html
"""

EXAMPLES = r"""
- name: One GRE tunnel with BFD
  ovsmesh.overlay.ovs_tunnel:
    bridge: br0
    name: gre-node2
    type: gre
    remote_ip: 192.0.2.12
    peer: node2
    bfd: {enable: true, min_tx: 100, min_rx: 100}

- name: Full mesh, pruning managed tunnels to hosts that left
  ovsmesh.overlay.ovs_tunnel:
    bridge: br0
    type: gre
    options: {csum: true}
    tunnels:
      - {name: gre-node2, remote_ip: 192.0.2.12, peer: node2}
      - {name: gre-node3, remote_ip: 192.0.2.13, peer: node3, options: {ttl: 32}}
    exclusive: true

- name: Remove a tunnel
  ovsmesh.overlay.ovs_tunnel:
    bridge: br0
    name: gre-node3
    state: absent
"""

RETURN = r"""
commands:
  description:
    - Argument vector of the C(ovs-vsctl) transaction that was run (planned in check mode).
      Empty when nothing had to change.
  returned: always
  type: list
  elements: str
  sample: ["/usr/bin/ovs-vsctl", "--timeout=10", "--", "set", "Interface", "gre-node2", "options:remote_ip=192.0.2.22"]
tunnels:
  description:
    - The managed tunnel ports of O(bridge) after the run (as they would be, in check mode),
      sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Port (and interface) name.
      type: str
      returned: always
    type:
      description: Tunnel type.
      type: str
      returned: always
    options:
      description: The whole C(Interface options) map, C(remote_ip) and C(key) included.
      type: dict
      returned: always
    bfd:
      description: The whole C(Interface bfd) map.
      type: dict
      returned: always
    peer:
      description: The remote host recorded as C(external_ids:ovsmesh-peer) on the Port, V(null) if none.
      type: str
      returned: always
  sample:
    - name: gre-node2
      type: gre
      options: {remote_ip: 192.0.2.12, key: "42"}
      bfd: {enable: "true", min_rx: "100", min_tx: "100"}
      peer: node2
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovsmesh.overlay.plugins.module_utils._ovs import (
    DEFAULT_TIMEOUT,
    MANAGED_KEY,
    local_addresses,
    is_self_address,
    map_changes,
    find_and_read,
    run_transaction,
    to_ovs_string,
    transaction_argv,
    validate_int,
    validate_ip,
    validate_name,
)

TYPES = ('gre', 'vxlan', 'geneve')
KEY_MAX = {'gre': 4294967295, 'vxlan': 16777215, 'geneve': 16777215}
UDP_TYPES = ('vxlan', 'geneve')
# Interface options documented for tunnels in ovs-vswitchd.conf.db(5) (OVS 3.1), by type.
COMMON_OPTIONS = frozenset(['in_key', 'out_key', 'tos', 'ttl', 'df_default', 'egress_pkt_mark',
                            'csum', 'psk', 'remote_cert', 'remote_name'])
TYPE_OPTIONS = {
    'gre': COMMON_OPTIONS | frozenset(['packet_type', 'seq']),
    'vxlan': COMMON_OPTIONS | frozenset(['exts', 'packet_type']),
    'geneve': COMMON_OPTIONS,
}
ALL_OPTIONS = frozenset().union(*TYPE_OPTIONS.values())
DEDICATED = ('remote_ip', 'local_ip', 'key', 'dst_port')
BOOL_OPTIONS = frozenset(['df_default', 'csum', 'seq'])
BFD_KEYS = frozenset(['enable', 'min_rx', 'min_tx', 'decay_min_rx', 'forwarding_if_rx', 'cpath_down',
                      'check_tnl_key', 'bfd_local_src_mac', 'bfd_local_dst_mac', 'bfd_remote_dst_mac',
                      'bfd_src_ip', 'bfd_dst_ip', 'oam', 'mult'])
BFD_BOOLS = frozenset(['enable', 'forwarding_if_rx', 'cpath_down', 'check_tnl_key', 'oam'])
BFD_INTS = {'min_rx': (1, 2 ** 31 - 1), 'min_tx': (1, 2 ** 31 - 1), 'decay_min_rx': (0, 2 ** 31 - 1),
            'mult': (1, 255)}
ITEM_FIELDS = ('name', 'type', 'remote_ip', 'local_ip', 'key', 'dst_port', 'options', 'bfd', 'peer')
# Port external_ids key naming the host a tunnel leads to (informative, OVS ignores it).
PEER_KEY = 'ovsmesh-peer'
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
# Module-level values that are defaults for every item of tunnels (options/bfd merge per key).
DEFAULTABLE = ('type', 'local_ip', 'key', 'dst_port')


def check_bool(value, field):
    if value is None or isinstance(value, bool) or str(value).lower() in ('true', 'false'):
        return
    raise ValueError('%s: expected true or false, got %r' % (field, value))


def want_tunnels(params):
    """Normalise the task into a list of tunnels, checking what needs no OVS state.

    Each tunnel is a dict of ITEM_FIELDS plus ``fields``: the name to use for each
    field in error messages (``remote_ip`` or ``tunnels[1].remote_ip``).
    Raises ValueError naming the field.
    """
    validate_name(params['bridge'], 'bridge')
    if params.get('timeout') is not None:
        validate_int(params['timeout'], 'timeout', 1, 3600)
    single = params.get('tunnels') is None
    if single and not params.get('name'):
        raise ValueError('name: one of name or tunnels is required')
    items = [dict((f, params.get(f)) for f in ITEM_FIELDS)] if single else params['tunnels']
    defaults = {} if single else params
    tunnels, seen = [], set()
    for index, item in enumerate(items):
        # An error names the item's field (tunnels[2].key), or the module-level one if the value came from there.
        label = '' if single else 'tunnels[%d].' % index
        fields = dict((f, f if item.get(f) is None and defaults.get(f) is not None else label + f)
                      for f in ITEM_FIELDS)
        tunnel = {'fields': fields, 'name': item.get('name'), 'remote_ip': item.get('remote_ip'),
                  'peer': item.get('peer')}
        for field in DEFAULTABLE:
            tunnel[field] = item.get(field) if item.get(field) is not None else defaults.get(field)
        for field in ('options', 'bfd'):  # item keys over module-level keys
            tunnel[field] = dict(defaults.get(field) or {})
            tunnel[field].update(item.get(field) or {})
        validate_name(tunnel['name'], fields['name'])
        if tunnel['name'] in seen:
            raise ValueError('%s: %r is listed twice' % (fields['name'], tunnel['name']))
        seen.add(tunnel['name'])
        if tunnel['name'] == params['bridge']:
            raise ValueError('%s: %r is the bridge itself' % (fields['name'], tunnel['name']))
        if params['state'] == 'present':
            validate_tunnel(tunnel)
        tunnels.append(tunnel)
    return tunnels


def validate_tunnel(tunnel):
    """Checks of one tunnel that need no OVS state (type-dependent ones only if the type is known)."""
    fields = tunnel['fields']
    if tunnel['peer'] is not None and (not tunnel['peer'].strip() or _CONTROL_RE.search(tunnel['peer'])):
        raise ValueError('%s: %r is not a host name' % (fields['peer'], tunnel['peer']))
    if tunnel['type'] is not None and tunnel['type'] not in TYPES:
        raise ValueError('%s: unknown tunnel type %r (one of %s)' % (fields['type'], tunnel['type'], ', '.join(TYPES)))
    if tunnel['remote_ip'] is not None:
        tunnel['remote_ip'] = validate_ip(tunnel['remote_ip'], fields['remote_ip'])
    if tunnel['local_ip'] is not None:
        tunnel['local_ip'] = validate_ip(tunnel['local_ip'], fields['local_ip'])
        if tunnel['local_ip'] == 'flow' and tunnel['remote_ip'] != 'flow':
            raise ValueError('%s: local_ip=flow needs remote_ip=flow' % fields['local_ip'])
    if tunnel['key'] is not None:  # the widest range until the type is known (validate_for_type)
        validate_int(tunnel['key'], fields['key'], 0, KEY_MAX['gre'])
    if tunnel['dst_port'] is not None:
        validate_int(tunnel['dst_port'], fields['dst_port'], 1, 65535)
    for key, value in tunnel['options'].items():
        field = '%s.%s' % (fields['options'], key)
        if key in DEDICATED:
            raise ValueError('%s: set it with the %s option, not in options' % (field, key))
        if key not in ALL_OPTIONS:
            raise ValueError('%s: unknown tunnel option %r' % (field, key))
        if key in BOOL_OPTIONS:
            check_bool(value, field)
    if tunnel['key'] is not None and set(tunnel['options']) & set(['in_key', 'out_key']):
        raise ValueError('%s: key and options in_key/out_key exclude each other' % fields['key'])
    for key, value in tunnel['bfd'].items():
        field = '%s.%s' % (fields['bfd'], key)
        if key not in BFD_KEYS:
            raise ValueError('%s: unknown bfd key %r' % (field, key))
        if key in BFD_BOOLS:
            check_bool(value, field)
        elif key in BFD_INTS and value is not None:
            validate_int(value, field, *BFD_INTS[key])
    if tunnel['type'] is not None:
        validate_for_type(tunnel, tunnel['type'])


def validate_for_type(tunnel, tunnel_type):
    """Checks that depend on the tunnel type (given, or the existing port's)."""
    fields = tunnel['fields']
    if tunnel['key'] is not None:
        validate_int(tunnel['key'], fields['key'], 0, KEY_MAX[tunnel_type])
    if tunnel['dst_port'] is not None and tunnel_type not in UDP_TYPES:
        raise ValueError('%s: only vxlan and geneve tunnels have a UDP destination port' % fields['dst_port'])
    for key in tunnel['options']:
        if key not in TYPE_OPTIONS[tunnel_type]:
            raise ValueError('%s.%s: option %r is not documented for %s tunnels'
                             % (fields['options'], key, key, tunnel_type))
    for key in ('in_key', 'out_key'):
        value = tunnel['options'].get(key)
        if value is not None and value != 'flow':
            validate_int(value, '%s.%s' % (fields['options'], key), 0, KEY_MAX[tunnel_type])


def check_self_tunnels(tunnels, addresses):
    """Refuse a tunnel whose remote_ip is one of this host's addresses."""
    for tunnel in tunnels:
        if tunnel.get('remote_ip') and is_self_address(tunnel['remote_ip'], addresses):
            raise ValueError('%s: %s is an address of this host (a tunnel to itself)'
                             % (tunnel['fields']['remote_ip'], tunnel['remote_ip']))


def is_managed(port):
    return (port.get('external_ids') or {}).get(MANAGED_KEY) == 'true'


def tunnel_view(name, iface, port):
    return {'name': name, 'type': iface.get('type') or '',
            'options': dict(iface.get('options') or {}), 'bfd': dict(iface.get('bfd') or {}),
            'peer': (port.get('external_ids') or {}).get(PEER_KEY)}


def plan(params, tunnels, state, check_mode=False):
    """Compute (commands, before, after) for ``tunnels`` (from want_tunnels) against ``state``.

    before/after map port name -> tunnel_view for the managed ports of the bridge.
    In check mode a missing bridge counts as empty: an earlier task of the same check run
    (ovs_bridge) would have created it.
    Raises ValueError naming the field; runs nothing.
    """
    bridge_name = params['bridge']
    bridge = state['bridges'].get(bridge_name)
    if bridge is None:
        if params['state'] == 'absent':
            return [], {}, {}
        if not check_mode:
            raise ValueError('bridge: bridge %r does not exist' % bridge_name)
        bridge = {'port_names': []}

    managed = [p for p in bridge['port_names'] if is_managed(state['ports'][p])]
    before = dict((p, tunnel_view(p, state['interfaces'].get(p) or {}, state['ports'][p])) for p in managed)
    after = dict(before)
    commands, endpoints = [], {}

    for tunnel in tunnels:
        name, fields = tunnel['name'], tunnel['fields']
        port = state['ports'].get(name)
        if port is not None and port['bridge'] != bridge_name:
            if params['state'] == 'absent':
                continue  # not on this bridge: nothing to delete here
            raise ValueError('%s: port %r already exists on bridge %r' % (fields['name'], name, port['bridge']))
        if port is not None and not is_managed(port):
            raise ValueError('%s: port %r on bridge %r is not managed by ovsmesh (no external_ids:%s=true), '
                             'it is left alone' % (fields['name'], name, bridge_name, MANAGED_KEY))
        if params['state'] == 'absent':
            if port is not None:
                commands.append(['del-port', bridge_name, name])
                after.pop(name, None)
            continue

        iface = state['interfaces'].get(name) if port is not None else None
        have = tunnel_view(name, iface or {}, port or {})
        tunnel_type = tunnel['type'] or (have['type'] if iface else None)
        if tunnel_type is None:
            raise ValueError('%s: required to create tunnel %r' % (fields['type'], name))
        if tunnel_type not in TYPES:
            raise ValueError('%s: port %r has type %r, not a tunnel; set type' % (fields['type'], name, tunnel_type))
        if iface is None and tunnel['remote_ip'] is None:
            raise ValueError('%s: required to create tunnel %r' % (fields['remote_ip'], name))
        validate_for_type(tunnel, tunnel_type)

        want_options = dict(tunnel['options'])
        for key in DEDICATED:
            if tunnel[key] is not None:
                want_options[key] = tunnel[key]
        set_args = [] if have['type'] == tunnel_type else ['type=%s' % tunnel_type]
        option_args, option_removes, options = map_changes('options', have['options'], want_options)
        bfd_args, bfd_removes, bfd = map_changes('bfd', have['bfd'], tunnel['bfd'])
        set_args += option_args + bfd_args
        # Not given: the port keeps its peer (None means "leave alone" here, not "remove").
        peer_args = []
        if tunnel['peer'] is not None:
            peer_args = map_changes('external_ids', {PEER_KEY: have['peer']}, {PEER_KEY: tunnel['peer']})[0]
        peer = tunnel['peer'] if tunnel['peer'] is not None else have['peer']

        # OVS identifies a tunnel by type, remote_ip, local_ip and in_key: two alike break both.
        endpoint = (tunnel_type, options.get('remote_ip'), options.get('local_ip'),
                    options.get('in_key', options.get('key')))
        if endpoint in endpoints:
            raise ValueError('%s: tunnels %r and %r have the same type, remote_ip, local_ip and key'
                             % (fields['remote_ip'], endpoints[endpoint], name))
        endpoints[endpoint] = name

        if port is None:  # the mark and the peer go in with the port, in the same transaction
            commands.append(['add-port', bridge_name, name, 'external_ids:%s=true' % MANAGED_KEY] + peer_args)
        elif peer_args:
            commands.append(['set', 'Port', name] + peer_args)
        if set_args:
            commands.append(['set', 'Interface', name] + set_args)
        for column, keys in (('options', option_removes), ('bfd', bfd_removes)):
            if keys:
                commands.append(['remove', 'Interface', name, column] + keys)
        after[name] = {'name': name, 'type': tunnel_type, 'options': options, 'bfd': bfd, 'peer': peer}

    if params['state'] == 'present' and params.get('exclusive'):
        wanted = set(t['name'] for t in tunnels)
        for name in managed:
            if name not in wanted:
                commands.append(['del-port', bridge_name, name])
                after.pop(name, None)
    return commands, before, after


def tunnel_fields():
    """Argument spec of a tunnel's settings: the same at module level (defaults) and per item."""
    return dict(
        type=dict(type='str', choices=list(TYPES)),
        remote_ip=dict(type='str'),
        local_ip=dict(type='str'),
        key=dict(type='int', no_log=False),
        dst_port=dict(type='int'),
        options=dict(type='dict'),
        bfd=dict(type='dict'),
        peer=dict(type='str'),
    )


def main():
    item_spec = dict(name=dict(type='str', required=True), **tunnel_fields())
    module = AnsibleModule(
        argument_spec=dict(
            bridge=dict(type='str', required=True),
            name=dict(type='str'),
            tunnels=dict(type='list', elements='dict', options=item_spec),
            **tunnel_fields(),
            exclusive=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        ),
        mutually_exclusive=[('name', 'tunnels'), ('remote_ip', 'tunnels'), ('peer', 'tunnels')],
        required_one_of=[('name', 'tunnels')],
        supports_check_mode=True,
    )
    params = module.params
    try:
        tunnels = want_tunnels(params)
        if params['state'] == 'present':
            check_self_tunnels(tunnels, local_addresses())
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    ovs_vsctl, state = find_and_read(module, params['timeout'])
    # An IPsec pre-shared key would show in commands, diff and tunnels: let Ansible mask it.
    for options in [t['options'] for t in tunnels] + [i.get('options') or {} for i in state['interfaces'].values()]:
        if options.get('psk') is not None:
            module.no_log_values.add(to_ovs_string(options['psk']))
    try:
        commands, before, after = plan(params, tunnels, state, module.check_mode)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    argv = transaction_argv(ovs_vsctl, commands, params['timeout']) if commands else []
    result = dict(changed=bool(commands), commands=argv,
                  tunnels=[after[name] for name in sorted(after)])
    if module._diff:
        result['diff'] = dict(before=before, after=after)
    if commands and not module.check_mode:
        run_transaction(module, argv)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
