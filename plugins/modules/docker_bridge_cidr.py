#!/usr/bin/python
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: docker_bridge_cidr
short_description: Plan docker0 addresses and non-overlapping container ranges for the whole mesh
version_added: 0.1.0
description:
  - Computes, for every host of the mesh at once, the address of its C(docker0) bridge and the
    C(--fixed-cidr) range from which its C(dockerd) hands out container addresses.
  - All C(docker0) bridges form one layer-2 segment, so they share one O(supernet); the ranges of the
    hosts never overlap each other nor the O(bridge_block) that holds the C(docker0) addresses.
  - Allocations are sticky. A host keeps its current range when it lies in the supernet, is aligned,
    has the prefix O(host_prefix) and does not overlap the bridge block; it keeps its current
    C(docker0) address when that is a host address of the bridge block. Adding or removing a host
    never moves another host. New hosts get the lowest free range and address, in natural order of
    their names (C(host2) before C(host10)), so the inventory's order does not matter.
  - Two hosts with the same current C(docker0) address (the state of fresh Docker installs, which
    all use C(172.17.0.1)) are not an error, the first in natural order keeps it. Two hosts with the
    same current range are an error.
  - Every problem is reported before anything is returned. Replaced current ranges and corrected
    address prefixes are reported as warnings.
  - It changes nothing (C(changed=false) always); run it once, on the control node
    (C(run_once=true), C(delegate_to=localhost)).
author:
  - ovsmesh maintainers (@ovsmesh)
requirements:
  - netaddr (on the host that runs the module, normally the control node)
options:
  supernet:
    description:
      - The network of all C(docker0) bridges, in CIDR notation, without host bits.
      - It must not overlap O(underlay) nor a route of any host.
    type: str
    default: 172.17.0.0/16
  hosts:
    description:
      - Every host of the mesh, with what it currently uses (gathered from the hosts, empty when unknown).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The inventory hostname; the key of RV(allocations).
        type: str
        required: true
      current_address:
        description:
          - The current address of the host's C(docker0), like V(172.17.42.1/16), or empty.
        type: str
      current_fixed_cidr:
        description:
          - The C(--fixed-cidr) of the host's running C(dockerd), or empty.
        type: str
      daemon_json:
        description:
          - The current content of the host's C(/etc/docker/daemon.json) (empty when absent).
          - Only used with O(daemon).
        type: dict
      command_line:
        description:
          - The flags the host's C(dockerd) gets besides its configuration file, as one string split as a
            shell does (the unit's C(ExecStart), plus a C(DOCKER_OPTS) the role did not write).
          - Only used with O(daemon); a setting given there and in the planned configuration is an error.
        type: str
        default: ''
      routes:
        description:
          - Networks the host routes or is connected to, like its underlay network.
          - The default route and a route equal to O(supernet) (the connected route of an existing
            C(docker0)) are ignored; any other route overlapping O(supernet) is an error.
        type: list
        elements: str
        default: []
  host_prefix:
    description:
      - Prefix length of each host's container range; must be longer than the prefix of O(supernet).
      - Seed 002 uses V(18) in a V(/16), which leaves room for exactly three hosts next to its bridge block.
    type: int
    default: 24
  bridge_block:
    description:
      - Part of O(supernet) that holds the C(docker0) addresses, one host address each (for example
        V(172.17.42.0/24) gives V(172.17.42.1), V(172.17.42.2), ...).
      - No container range overlaps it, so a range that contains it is lost for containers.
      - When omitted, the first O(host_prefix) range of O(supernet) is used (V(172.17.0.0/24) with the
        defaults). A block apart from the ranges keeps every C(docker0) address out of every
        container pool, and keeps the addresses of all hosts in one place.
    type: str
  mtu:
    description:
      - MTU of C(docker0) and the containers, copied to each allocation (the overlay's MTU, for example
        V(1462) for GRE or V(1450) for VXLAN over a 1500-byte underlay).
    type: int
  underlay:
    description:
      - Networks that O(supernet) must not overlap, like the underlay network that carries the tunnels.
    type: list
    elements: str
    default: []
  daemon:
    description:
      - When given, also plan each host's C(dockerd) settings (RV(allocations.daemon)), that is
        C(--bridge), C(--fixed-cidr), C(--mtu) and, optionally, a TLS listener on the C(docker0) address.
      - They are checked against the host's O(hosts[].daemon_json) and O(hosts[].command_line) before
        anything is returned. The same setting in two places, C(bip) with C(bridge), and a TCP listener
        without TLS are errors, because C(dockerd) refuses to start or is open to anyone.
    type: dict
    suboptions:
      config:
        description:
          - V(default_file) plans a single-line C(DOCKER_OPTS) for C(/etc/default/docker), and removes from
            C(daemon.json) the entries equal to those settings (left there by V(daemon_json)).
          - V(daemon_json) plans the new C(daemon.json), other keys kept.
        type: str
        choices: [default_file, daemon_json]
        default: default_file
      bridge:
        description: Name of the Linux bridge C(dockerd) uses (C(--bridge)).
        type: str
        default: docker0
      options:
        description:
          - More C(dockerd) settings, by their C(daemon.json) names, put in the same place.
          - They may not set what the plan sets (C(bridge), C(fixed-cidr), C(mtu), the listener) nor C(bip).
        type: dict
        default: {}
      tcp:
        description:
          - Add a TCP listener on the host's C(docker0) address, with TLS client verification.
          - Never on every interface, never without TLS.
        type: bool
        default: false
      tcp_port:
        description: Port of the TCP listener.
        type: int
        default: 2376
      tls_cacert:
        description: CA certificate that signs the clients' certificates (absolute path on the host); required with O(daemon.tcp).
        type: str
      tls_cert:
        description: Server certificate (absolute path on the host); required with O(daemon.tcp).
        type: str
      tls_key:
        description: Server key (absolute path on the host); required with O(daemon.tcp).
        type: str
notes:
  - Docker hands out the first address of a range to the first container, so with
    V(--fixed-cidr=172.17.64.0/18) the first container gets C(172.17.64.0). In the V(/16) of C(docker0)
    that is a valid host address and works.
  - Only IPv4 is planned; C(--fixed-cidr) is an IPv4 setting.
  - Leave the routes of C(docker0) out of O(hosts[].routes), apart from the one of the supernet itself.
seealso:
  - name: dockerd --fixed-cidr
    description: Docker's documentation of the daemon's bridge options.
    link: https://docs.docker.com/reference/cli/dockerd/
attributes:
  check_mode:
    support: full
    description: Can run in check mode; it never changes anything.
  diff_mode:
    support: none
    description: Nothing to show, it never changes anything.
'''

EXAMPLES = r'''
- name: Plan the addresses of seed 002 (three hosts, /18 ranges, docker0 on 172.17.42.N)
  ovsmesh.overlay.docker_bridge_cidr:
    supernet: 172.17.0.0/16
    host_prefix: 18
    bridge_block: 172.17.42.0/24
    mtu: 1462
    hosts:
      - name: host1
      - name: host2
      - name: host3
  run_once: true
  delegate_to: localhost
  register: docker_cidr
  # docker_cidr.allocations.host1 == {address: 172.17.42.1/16, gateway: 172.17.42.1,
  #   fixed_cidr: 172.17.64.0/18, mtu: 1462, kept_address: false, kept_fixed_cidr: false}

- name: Read what each host uses now
  ansible.builtin.set_fact:
    docker_cidr_host:
      name: "{{ inventory_hostname }}"
      current_address: >-
        {{ (ansible_facts.docker0.ipv4.address ~ '/' ~ ansible_facts.docker0.ipv4.prefix)
           if ansible_facts.docker0.ipv4 is defined else '' }}
      routes:
        - "{{ ansible_facts.default_ipv4.network }}/{{ ansible_facts.default_ipv4.prefix }}"

- name: Plan from the live state of every host, so that nothing moves
  ovsmesh.overlay.docker_bridge_cidr:
    supernet: 172.17.0.0/16
    mtu: 1450
    hosts: "{{ ansible_play_hosts_all | map('extract', hostvars, 'docker_cidr_host') | list }}"
  run_once: true
  delegate_to: localhost
  register: docker_cidr

- name: Plan the docker0 addresses and each host's DOCKER_OPTS, checked against its daemon.json
  ovsmesh.overlay.docker_bridge_cidr:
    host_prefix: 18
    bridge_block: 172.17.42.0/24
    mtu: 1462
    hosts:
      - name: host1
        daemon_json: {storage-driver: overlay2}
        command_line: /usr/sbin/dockerd -H fd:// $DOCKER_OPTS
    daemon:
      config: default_file
  run_once: true
  delegate_to: localhost
  register: docker_cidr
  # docker_cidr.allocations.host1.daemon.default_file ends with
  #   DOCKER_OPTS="--bridge=docker0 --fixed-cidr=172.17.64.0/18 --mtu=1462"

- name: Use the plan on each host
  ansible.builtin.debug:
    msg: "docker0 {{ docker_cidr.allocations[inventory_hostname].address }},
      --fixed-cidr={{ docker_cidr.allocations[inventory_hostname].fixed_cidr }}"
'''

RETURN = r'''
allocations:
  description:
    - The plan, one entry per host, keyed by inventory hostname.
  returned: success
  type: dict
  contains:
    address:
      returned: always
      description: Address of the host's C(docker0), with the prefix of the supernet.
      type: str
      sample: 172.17.42.1/16
    gateway:
      returned: always
      description: The same address without prefix, the containers' default gateway on that host.
      type: str
      sample: 172.17.42.1
    fixed_cidr:
      returned: always
      description: The host's container range, for C(dockerd --fixed-cidr).
      type: str
      sample: 172.17.64.0/18
    mtu:
      description: The O(mtu) option, copied.
      type: int
      returned: when O(mtu) is given
      sample: 1462
    kept_address:
      returned: always
      description: Whether the host keeps its current C(docker0) address.
      type: bool
      sample: false
    kept_fixed_cidr:
      returned: always
      description: Whether the host keeps its current range.
      type: bool
      sample: false
    daemon:
      description: The host's planned C(dockerd) settings.
      returned: when O(daemon) is given
      type: dict
      contains:
        options:
          description: The settings, by their C(daemon.json) names.
          returned: always
          type: dict
          sample: {bridge: docker0, fixed-cidr: 172.17.64.0/18, mtu: 1462}
        daemon_json:
          description:
            - The wanted content of C(/etc/docker/daemon.json). Equal to O(hosts[].daemon_json) when
              nothing needs to change there.
          returned: always
          type: dict
          sample: {storage-driver: overlay2}
        default_file:
          description: The text of C(/etc/default/docker) without a managed header.
          returned: when O(daemon.config=default_file)
          type: str
          sample: |
            # Read by docker.service through EnvironmentFile= (systemd, no shell): keep DOCKER_OPTS on one line.
            DOCKER_OPTS="--bridge=docker0 --fixed-cidr=172.17.64.0/18 --mtu=1462"
  sample:
    host1: {address: 172.17.42.1/16, gateway: 172.17.42.1, fixed_cidr: 172.17.64.0/18, mtu: 1462,
            kept_address: true, kept_fixed_cidr: true}
supernet:
  description: The supernet, normalised.
  returned: success
  type: str
  sample: 172.17.0.0/16
bridge_block:
  description: The bridge block used, the given one or the default.
  returned: success
  type: str
  sample: 172.17.42.0/24
free_ranges:
  description: How many more hosts fit into the supernet.
  returned: success
  type: int
  sample: 0
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ovsmesh.overlay.plugins.module_utils._docker_config import DockerConfigError, plan_daemon
from ansible_collections.ovsmesh.overlay.plugins.module_utils._cidr import (
    DEFAULT_HOST_PREFIX,
    DEFAULT_SUPERNET,
    HAS_NETADDR,
    NETADDR_IMPORT_ERROR,
    CidrError,
    plan_allocations,
)


def plan_daemons(allocations, hosts, daemon):
    """Add each host's dockerd settings to its allocation; return the errors of all hosts."""
    tcp = None
    if daemon['tcp']:
        tcp = dict(port=daemon['tcp_port'], cacert=daemon['tls_cacert'], cert=daemon['tls_cert'],
                   key=daemon['tls_key'])
    errors = []
    for index, host in enumerate(hosts):
        try:
            allocations[host['name']]['daemon'] = plan_daemon(
                allocations[host['name']], config=daemon['config'], bridge=daemon['bridge'], extra=daemon['options'],
                tcp=tcp, daemon_json=host['daemon_json'], command_line=host['command_line'])
        except DockerConfigError as exc:
            errors.append('hosts[%d] (host %s): %s' % (index, host['name'], exc))
    return errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            supernet=dict(type='str', default=DEFAULT_SUPERNET),
            hosts=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                current_address=dict(type='str'),
                current_fixed_cidr=dict(type='str'),
                daemon_json=dict(type='dict'),
                command_line=dict(type='str', default=''),
                routes=dict(type='list', elements='str', default=[]),
            )),
            host_prefix=dict(type='int', default=DEFAULT_HOST_PREFIX),
            bridge_block=dict(type='str'),
            mtu=dict(type='int'),
            underlay=dict(type='list', elements='str', default=[]),
            daemon=dict(type='dict', options=dict(
                config=dict(type='str', choices=['default_file', 'daemon_json'], default='default_file'),
                bridge=dict(type='str', default='docker0'),
                options=dict(type='dict', default={}),
                tcp=dict(type='bool', default=False),
                tcp_port=dict(type='int', default=2376),
                tls_cacert=dict(type='str'),
                tls_cert=dict(type='str'),
                tls_key=dict(type='str', no_log=False),  # a path, not the key
            )),
        ),
        supports_check_mode=True,
    )
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib('netaddr'), exception=NETADDR_IMPORT_ERROR)

    params = module.params
    try:
        plan = plan_allocations(supernet=params['supernet'], hosts=params['hosts'], host_prefix=params['host_prefix'],
                                bridge_block=params['bridge_block'], mtu=params['mtu'], underlay=params['underlay'])
    except CidrError as exc:
        module.fail_json(msg=str(exc))
    if params['daemon']:
        errors = plan_daemons(plan['allocations'], params['hosts'], params['daemon'])
        if errors:
            module.fail_json(msg='; '.join(errors))
    for warning in plan.pop('warnings'):
        module.warn(warning)
    module.exit_json(changed=False, **plan)


if __name__ == '__main__':
    main()
