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
  - An Open vSwitch port is made an RSTP edge port (C(other_config:rstp-port-admin-edge=true)), so
    on a bridge with RSTP it skips the discarding and learning states. RSTP takes the edge status
    away by itself if a BPDU arrives on the port.
  - With O(persist=true) the attachment is recorded in C(/etc/ovsmesh/attachments/) and the
    C(ovsmesh-attachd) service (role C(ovsmesh.overlay.container_network)) puts it back whenever
    Docker starts the container again.
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
    stops. Run the task again after a restart (the host-side name and the OVS port are the same,
    and a stale OVS port is replaced), or use O(persist=true).
  - The module and C(ovsmesh-attachd) take the lock C(/run/ovsmesh-attach.lock) while they work, so
    they never change the same links at once.
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
        (or O(parent)), 4 bytes less with O(vlan), because the port's frames cross tunnels with an
        802.1Q tag, which an overlay MTU made for untagged frames has no room for. A value above
        the bridge's MTU is refused.
      - Without O(mtu), an existing interface keeps its MTU.
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
      - Keep the attachment across restarts of the container and of the host. The options are
        recorded in C(/etc/ovsmesh/attachments/<container>@<ifname>.json) (written atomically), and
        the C(ovsmesh-attachd) service re-applies the record when Docker starts the container again
        and removes the OVS port and veth when the container stops or is removed.
      - The record exists exactly when O(state=present) and O(persist=true); V(false), or
        O(state=absent), removes it.
      - Only with O(container). A record made for a container name also serves a new container
        of the same name; one made for an id is dropped when that container is removed.
      - Without the service the record is kept, but nothing reads it.
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

- name: Attach web and keep it attached when it restarts (needs ovsmesh-attachd)
  ovsmesh.overlay.container_attach:
    container: web
    bridge: br0
    address: 192.168.0.10/24
    vlan: 100
    persist: true

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
    - ovs-vsctl -- add-port br0 vo3f2a9c1d0b7e tag=100 other_config:rstp-port-admin-edge=true -- set Interface vo3f2a9c1d0b7e
      external_ids:container_id=web external_ids:container_iface=eth1
    - set vo3f2a9c1d0b7e up
    - set eth1 up
    - add address 192.168.0.10/24 to eth1
    - write persistence record /etc/ovsmesh/attachments/web@eth1.json
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
    persist:
      description: Whether a persistence record is kept for the attachment (see O(persist)).
      type: bool
      returned: when O(container) is given
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
    persist: true
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
  description: The O(persist) option.
  returned: always
  type: bool
  sample: false
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.ovsmesh.overlay.plugins.module_utils._attach import (
    RECORD_DIR,
    AttachError,
    attach,
    record_name,
    record_text,
    validate_params,
)
from ansible_collections.ovsmesh.overlay.plugins.module_utils._container import DEFAULT_DOCKER_HOST
from ansible_collections.ovsmesh.overlay.plugins.module_utils._netlink import (
    HAS_PYROUTE2,
    PYROUTE2_IMPORT_ERROR,
)


def read_record(path):
    """Text of the record at ``path``, or None if there is none."""
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def plan_record(params, opts, current, path):
    """(action text or None, wanted text or None) for the record file of this attachment. Pure.

    Declarative: the record exists exactly when the attachment is present with persist=true.
    """
    wanted = record_text(params, opts) if params['persist'] and params['state'] == 'present' else None
    if wanted == current:
        return None, wanted
    if wanted is None:
        return 'remove persistence record %s' % path, None
    return 'write persistence record %s' % path, wanted


def write_record(module, path, text):
    """Write ``text`` to ``path`` atomically (a reader never sees half a record)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=module.tmpdir)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


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
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    try:
        result = attach(module, params, check_mode=module.check_mode, diff=module._diff)
    except AttachError as exc:
        module.fail_json(msg=str(exc), persist=params['persist'], **exc.result)

    # The persistence record follows the attachment: written once it is in place, removed on detach.
    result['persist'] = params['persist']
    try:
        path = os.path.join(RECORD_DIR, record_name(params['container'], opts['ifname']))
    except ValueError:
        path = None  # netns/pid, or a name no record can have (persist=true was refused above)
    if path:
        current = read_record(path)
        action, wanted = plan_record(params, opts, current, path)
        result['attachment']['persist'] = wanted is not None
        if 'diff' in result:
            result['diff']['before']['persist'] = current is not None
            result['diff']['after']['persist'] = wanted is not None
        if action:
            result['changed'] = True
            result['actions'].append(action)
            if not module.check_mode:
                if wanted is None:
                    os.remove(path)
                else:
                    write_record(module, path, wanted)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
