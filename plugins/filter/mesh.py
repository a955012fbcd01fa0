# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that plan the overlay mesh from the inventory: mesh_tunnels, mesh_mtu, mesh_stp_priority.

The documentation of each filter is in the .yml file of the same name next to this one.
The logic is in module_utils/_mesh.py; these wrappers only turn its errors into AnsibleFilterError.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ovsmesh.overlay.plugins.module_utils._mesh import (
    MeshError,
    overlay_mtu,
    plan_tunnels,
    stp_priority,
)


def mesh_tunnels(hosts, hostvars, me, topology='full_mesh', hub=None, tunnel_type='gre', key=None,
                 dst_port=None):
    try:
        return plan_tunnels(hosts, hostvars, me, topology=topology, hub=hub, tunnel_type=tunnel_type,
                            key=key, dst_port=dst_port)
    except MeshError as exc:
        raise AnsibleFilterError('mesh_tunnels: %s' % exc) from exc


def mesh_mtu(underlay_mtu, tunnel_type='gre', ipv6=False, requested='auto'):
    try:
        return overlay_mtu(underlay_mtu, tunnel_type=tunnel_type, ipv6=ipv6, requested=requested)
    except MeshError as exc:
        raise AnsibleFilterError('mesh_mtu: %s' % exc) from exc


def mesh_stp_priority(hosts, me, root=None, stp='rstp'):
    try:
        return stp_priority(hosts, me, root=root, stp=stp)
    except MeshError as exc:
        raise AnsibleFilterError('mesh_stp_priority: %s' % exc) from exc


class FilterModule(object):
    """Overlay mesh planning filters."""

    def filters(self):
        return {
            'mesh_tunnels': mesh_tunnels,
            'mesh_mtu': mesh_mtu,
            'mesh_stp_priority': mesh_stp_priority,
        }
