#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_bridge
short_description: Manage an Open vSwitch bridge and its settings
version_added: 0.1.0
description:
  - Create, update or delete an Open vSwitch bridge, its datapath type, spanning tree (STP or RSTP)
    and timers, MTU, fail mode, OpenFlow protocols, C(other_config) and C(external_ids).
  - Settings are brought to what the task asks on an B(existing) bridge too, not only at creation.
  - Options that are not given are left as they are. Keys of O(other_config) and O(external_ids)
    that the task does not name are left alone; a key whose value is V(null) is removed.
  - Reads the state with one C(ovs-vsctl) call and applies every change as one C(ovs-vsctl)
    transaction, so a converged run costs one process.
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
  name:
    description:
      - Name of the bridge (and of its internal interface). At most 15 characters of
        C([A-Za-z0-9_.-]), not starting with C(-).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the bridge, V(absent) deletes it with all its ports.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - Datapath of the bridge. V(system) is the kernel datapath, V(netdev) the userspace one.
      - Changing it on an existing bridge makes Open vSwitch re-create the bridge's ports.
    type: str
    choices: [system, netdev]
  stp:
    description:
      - Spanning tree protocol. V(stp) sets C(stp_enable=true), V(rstp) C(rstp_enable=true),
        the other one is set to C(false); V(off) disables both.
    type: str
    choices: ['off', stp, rstp]
  priority:
    description:
      - Bridge priority, C(other_config:stp-priority) (0..65535) or
        C(other_config:rstp-priority) (0..61440, a multiple of 4096), by the spanning tree in use.
      - Needs O(stp=stp) or O(stp=rstp), given or already set on the bridge.
    type: int
  hello_time:
    description:
      - STP hello interval in seconds (1..10), C(other_config:stp-hello-time).
      - Only for O(stp=stp). Open vSwitch 3.1 has no RSTP hello time (fixed at 2 s), so it fails with O(stp=rstp).
    type: int
  forward_delay:
    description:
      - Forward delay in seconds (4..30), C(other_config:stp-forward-delay) or C(rstp-forward-delay).
    type: int
  max_age:
    description:
      - Maximum age in seconds (6..40), C(other_config:stp-max-age) or C(rstp-max-age).
    type: int
  mtu:
    description:
      - MTU (68..65535) requested for the bridge's internal interface (C(Interface mtu_request)).
    type: int
  fail_mode:
    description:
      - What the bridge does without an OpenFlow controller.
    type: str
    choices: [standalone, secure]
  other_config:
    description:
      - Keys of the Bridge C(other_config) column to set; a V(null) value removes the key.
      - Keys set through O(priority), O(hello_time), O(forward_delay) or O(max_age) may only
        appear here with the same value.
    type: dict
  external_ids:
    description:
      - Keys of the Bridge C(external_ids) column to set; a V(null) value removes the key.
    type: dict
  protocols:
    description:
      - OpenFlow versions the bridge accepts. An empty list clears the column (all versions).
    type: list
    elements: str
    choices: [OpenFlow10, OpenFlow11, OpenFlow12, OpenFlow13, OpenFlow14, OpenFlow15]
  timeout:
    description:
      - Seconds C(ovs-vsctl) waits for the database and for C(ovs-vswitchd) (C(--timeout)).
    type: int
    default: 10
notes:
  - Unlike M(openvswitch.openvswitch.openvswitch_bridge), whose C(set) only applies when the
    bridge is created, every setting is converged on each run.
seealso:
  - module: ovsmesh.overlay.ovs_tunnel
  - name: ovs-vswitchd.conf.db(5)
    description: The Open vSwitch database schema, C(Bridge) table.
    link: https://www.openvswitch.org/support/dist-docs/ovs-vswitchd.conf.db.5.html
"""

EXAMPLES = r"""
- name: Overlay bridge with RSTP and a low priority on the preferred root
  ovsmesh.overlay.ovs_bridge:
    name: br0
    stp: rstp
    priority: 4096
    mtu: 1462
    external_ids:
      ovsmesh-role: overlay

- name: Userspace datapath bridge for a lab
  ovsmesh.overlay.ovs_bridge:
    name: br0
    datapath_type: netdev
    fail_mode: standalone
    protocols: [OpenFlow13]

- name: Remove one other_config key, leave the others alone
  ovsmesh.overlay.ovs_bridge:
    name: br0
    other_config:
      mac-aging-time: null

- name: Delete the bridge
  ovsmesh.overlay.ovs_bridge:
    name: br0
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
  sample: ["/usr/bin/ovs-vsctl", "--timeout=10", "--", "add-br", "br0", "--", "set", "Bridge", "br0", "rstp_enable=true"]
bridge:
  description: The bridge as it is after the run (as it would be, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Bridge name.
      type: str
      returned: always
    state:
      description: V(present) or V(absent).
      type: str
      returned: always
    datapath_type:
      description: V(system) or V(netdev).
      type: str
      returned: when present
    stp:
      description: V(off), V(stp) or V(rstp).
      type: str
      returned: when present
    mtu:
      description: The internal interface's requested MTU, V(null) when unset.
      type: int
      returned: when present
    fail_mode:
      description: V(standalone), V(secure) or V(null) when unset.
      type: str
      returned: when present
    protocols:
      description: OpenFlow versions, empty for all.
      type: list
      elements: str
      returned: when present
    other_config:
      description: The whole C(other_config) map.
      type: dict
      returned: when present
    external_ids:
      description: The whole C(external_ids) map.
      type: dict
      returned: when present
  sample:
    name: br0
    state: present
    datapath_type: system
    stp: rstp
    mtu: 1462
    fail_mode: null
    protocols: []
    other_config: {rstp-priority: "4096"}
    external_ids: {}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovsmesh.overlay.plugins.module_utils._ovs import (
    DEFAULT_TIMEOUT,
    map_changes,
    find_and_read,
    run_transaction,
    to_ovs_string,
    transaction_argv,
    validate_int,
    validate_name,
)

# Timer options -> other_config key and range, per spanning tree (ovs-vswitchd.conf.db(5), OVS 3.1).
# RSTP has no hello time there: it is fixed at 2 s.
STP_KEYS = {
    'stp': {
        'priority': ('stp-priority', 0, 65535),
        'hello_time': ('stp-hello-time', 1, 10),
        'forward_delay': ('stp-forward-delay', 4, 30),
        'max_age': ('stp-max-age', 6, 40),
    },
    'rstp': {
        'priority': ('rstp-priority', 0, 61440),
        'forward_delay': ('rstp-forward-delay', 4, 30),
        'max_age': ('rstp-max-age', 6, 40),
    },
}
TIMERS = ('priority', 'hello_time', 'forward_delay', 'max_age')


def validate_params(params):
    """Checks that need no OVS state. Raise ValueError naming the field."""
    validate_name(params['name'], 'name')
    if params.get('mtu') is not None:
        validate_int(params['mtu'], 'mtu', 68, 65535)
    if params.get('timeout') is not None:
        validate_int(params['timeout'], 'timeout', 1, 3600)
    for field in ('other_config', 'external_ids'):
        for key in params.get(field) or {}:
            if not key:
                raise ValueError('%s: keys must not be empty' % field)


def stp_mode(bridge):
    """Spanning tree in use on a Bridge row: rstp wins over stp, as in OVS."""
    if bridge.get('rstp_enable'):
        return 'rstp'
    if bridge.get('stp_enable'):
        return 'stp'
    return 'off'


def bridge_view(name, bridge, interfaces):
    """The bridge as shown in diff and RETURN (None row: absent)."""
    if bridge is None:
        return {'name': name, 'state': 'absent'}
    iface = interfaces.get(name) or {}
    return {
        'name': name,
        'state': 'present',
        'datapath_type': bridge.get('datapath_type') or 'system',
        'stp': stp_mode(bridge),
        'mtu': iface.get('mtu_request'),
        'fail_mode': bridge.get('fail_mode'),
        'protocols': sorted(bridge.get('protocols') or []),
        'other_config': dict(bridge.get('other_config') or {}),
        'external_ids': dict(bridge.get('external_ids') or {}),
    }


def timer_config(params, mode):
    """other_config keys for priority/hello_time/forward_delay/max_age under spanning tree ``mode``."""
    wanted = {}
    for field in TIMERS:
        value = params.get(field)
        if value is None:
            continue
        if mode == 'off':
            raise ValueError('%s: needs a spanning tree, set stp to stp or rstp' % field)
        if field not in STP_KEYS[mode]:
            raise ValueError('%s: not supported with stp=rstp (Open vSwitch has no rstp hello time, it is fixed at 2 s)'
                             % field)
        key, low, high = STP_KEYS[mode][field]
        value = validate_int(value, field, low, high)
        if mode == 'rstp' and field == 'priority' and value % 4096:
            raise ValueError('priority: %d is not a multiple of 4096 (RSTP would round it down)' % value)
        wanted[key] = str(value)
    return wanted


def plan(params, state):
    """Compute (commands, before, after) for the bridge task against ``state`` (see _ovs.build_state).

    Raises ValueError naming the field on bad input; runs nothing.
    """
    validate_params(params)
    name = params['name']
    bridge = state['bridges'].get(name)
    before = bridge_view(name, bridge, state['interfaces'])

    if params['state'] == 'absent':
        if bridge is None:
            return [], before, before
        return [['del-br', name]], before, {'name': name, 'state': 'absent'}

    port = state['ports'].get(name)
    if bridge is None and port is not None:
        raise ValueError('name: %r already exists as a port on bridge %r' % (name, port.get('bridge')))

    # A new bridge is planned against an empty one, so create and update share the code.
    have = before if bridge else bridge_view(name, {}, {})
    after = dict(have)
    commands = [] if bridge else [['add-br', name]]
    set_args = []

    if params.get('datapath_type') and params['datapath_type'] != have['datapath_type']:
        set_args.append('datapath_type=%s' % params['datapath_type'])
        after['datapath_type'] = params['datapath_type']

    mode = params.get('stp') or have['stp']
    if params.get('stp') and params['stp'] != have['stp']:
        set_args += ['stp_enable=%s' % to_ovs_string(mode == 'stp'),
                     'rstp_enable=%s' % to_ovs_string(mode == 'rstp')]
        after['stp'] = mode

    if params.get('fail_mode') and params['fail_mode'] != have['fail_mode']:
        set_args.append('fail_mode=%s' % params['fail_mode'])
        after['fail_mode'] = params['fail_mode']

    if params.get('protocols') is not None:
        protocols = sorted(set(params['protocols']))
        if protocols != have['protocols']:
            set_args.append('protocols=[%s]' % ','.join(protocols))
            after['protocols'] = protocols

    other_config = dict(params.get('other_config') or {})
    for key, value in timer_config(params, mode).items():
        if key in other_config and to_ovs_string(other_config[key]) != value:
            raise ValueError('other_config: key %r conflicts with the value set by priority/hello_time/'
                             'forward_delay/max_age' % key)
        other_config[key] = value

    removes = []
    for column, want in (('other_config', other_config), ('external_ids', params.get('external_ids'))):
        args, remove_keys, after[column] = map_changes(column, have[column], want)
        set_args += args
        if remove_keys:
            removes.append(['remove', 'Bridge', name, column] + remove_keys)

    if set_args:
        commands.append(['set', 'Bridge', name] + set_args)
    commands += removes

    mtu = params.get('mtu')
    if mtu is not None and mtu != have['mtu']:
        commands.append(['set', 'Interface', name, 'mtu_request=%d' % mtu])
        after['mtu'] = mtu
    return commands, before, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            datapath_type=dict(type='str', choices=['system', 'netdev']),
            stp=dict(type='str', choices=['off', 'stp', 'rstp']),
            priority=dict(type='int'),
            hello_time=dict(type='int'),
            forward_delay=dict(type='int'),
            max_age=dict(type='int'),
            mtu=dict(type='int'),
            fail_mode=dict(type='str', choices=['standalone', 'secure']),
            other_config=dict(type='dict'),
            external_ids=dict(type='dict'),
            protocols=dict(type='list', elements='str',
                           choices=['OpenFlow10', 'OpenFlow11', 'OpenFlow12', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']),
            timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_params(params)  # before reading anything
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    ovs_vsctl, state = find_and_read(module, params['timeout'])
    try:
        commands, before, after = plan(params, state)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    argv = transaction_argv(ovs_vsctl, commands, params['timeout']) if commands else []
    result = dict(changed=bool(commands), commands=argv, bridge=after)
    if module._diff:
        result['diff'] = dict(before=before, after=after)
    if commands and not module.check_mode:
        run_transaction(module, argv)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
