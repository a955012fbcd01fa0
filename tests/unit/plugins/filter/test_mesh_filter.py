# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.ovsmesh.overlay.plugins.filter.mesh import FilterModule

FILTERS = FilterModule().filters()

INVENTORY = """
all:
  children:
    mesh:
      hosts:
        h3: {ansible_host: 10.50.10.13}
        h1: {ovsmesh_underlay_ip: 10.50.10.11, ansible_host: h1.example.invalid}
        h2: {ovsmesh_underlay_ip: "{{ '10.50.10.' ~ (6 * 2) }}"}
        h4: {ansible_host: db4.example.invalid}
"""


@pytest.fixture
def hostvars(tmp_path):
    """Ansible's real HostVars (lazy, templated per host), not a plain dict."""
    path = tmp_path / 'hosts.yml'
    path.write_text(INVENTORY)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    return HostVars(inventory, VariableManager(loader=loader, inventory=inventory), loader)


def test_filters_exposed():
    assert set(FILTERS) == {'mesh_tunnels', 'mesh_mtu', 'mesh_stp_priority'}


def test_mesh_tunnels_with_real_hostvars(hostvars):
    # h2's address is a template; h1's ansible_host is a name, so its ovsmesh_underlay_ip counts.
    tunnels = FILTERS['mesh_tunnels'](['h3', 'h2', 'h1'], hostvars, 'h1', tunnel_type='vxlan', key=7)
    assert tunnels == [
        {'name': 'vxl-0a320a0c', 'type': 'vxlan', 'remote_ip': '10.50.10.12', 'peer': 'h2', 'key': 7,
         'dst_port': 4789},
        {'name': 'vxl-0a320a0d', 'type': 'vxlan', 'remote_ip': '10.50.10.13', 'peer': 'h3', 'key': 7,
         'dst_port': 4789},
    ]


def test_mesh_tunnels_error_names_the_host(hostvars):
    with pytest.raises(AnsibleFilterError, match=r'mesh_tunnels: host h4 has no underlay address'):
        FILTERS['mesh_tunnels'](['h1', 'h4'], hostvars, 'h1')


def test_mesh_tunnels_unknown_host(hostvars):
    with pytest.raises(AnsibleFilterError, match=r'host ghost is not in the inventory'):
        FILTERS['mesh_tunnels'](['h1', 'ghost'], hostvars, 'h1')


def test_mesh_tunnels_unknown_hub(hostvars):
    with pytest.raises(AnsibleFilterError, match=r"ovsmesh_hub 'h9'"):
        FILTERS['mesh_tunnels'](['h1', 'h2'], hostvars, 'h1', topology='hub', hub='h9')


def test_mesh_mtu():
    assert FILTERS['mesh_mtu'](1500) == 1462
    assert FILTERS['mesh_mtu'](1500, 'vxlan') == 1450
    with pytest.raises(AnsibleFilterError, match=r'mesh_mtu: .*the maximum is 1450'):
        FILTERS['mesh_mtu'](1500, 'vxlan', requested=1500)


def test_mesh_stp_priority():
    assert FILTERS['mesh_stp_priority'](['h1', 'h2'], 'h1', root='h1') == 4096
    assert FILTERS['mesh_stp_priority'](['h1', 'h2'], 'h2', root='h1') == 32768
    with pytest.raises(AnsibleFilterError, match=r'mesh_stp_priority: ovsmesh_stp_root'):
        FILTERS['mesh_stp_priority'](['h1', 'h2'], 'h1', root='h9')
