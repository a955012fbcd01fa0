# Copyright (c) 2026, ovsmesh maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Move a host's underlay onto an OVS bridge, as ONE step that does not depend on the caller.

OVS's userspace datapath terminates tunnels itself and needs the tunnel endpoint address on an
OVS bridge that holds the physical interface (OVS's "br-phy"). Adding the interface to the bridge
cuts every connection that uses its address until the address and routes are on the bridge, an
SSH connection of the control node included (seed 003: "run it with nohup ... &"). The ovs_mesh
role therefore runs this script detached on the host (Ansible async); it finishes on its own.

    python3 /usr/local/lib/ovsmesh/ovsmesh_underlay_move.py --bridge br-phy --interface eth0 [--check]

Idempotent: prints one JSON line {"changed": bool, ...}; with --check it only says what it would do.
Netlink through pyroute2, OVS through one ovs-vsctl transaction.
"""

import argparse
import json
import socket
import subprocess
import sys
import time

from pyroute2 import IPRoute

FAMILIES = (socket.AF_INET, socket.AF_INET6)


def link_index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def addresses(ipr, index):
    """Global-scope addresses of a link as (family, address, prefixlen)."""
    result = []
    for msg in ipr.get_addr(index=index):
        if msg['scope'] != 0:  # 0 = RT_SCOPE_UNIVERSE; leave link-local (fe80::/64) alone
            continue
        result.append((msg['family'], msg.get_attr('IFA_ADDRESS'), msg['prefixlen']))
    return result


def gateway_routes(ipr, index):
    """Routes through a gateway on that link (the default route first of all), main table."""
    result = []
    for family in FAMILIES:
        for msg in ipr.get_routes(family=family, oif=index, table=254):
            gateway = msg.get_attr('RTA_GATEWAY')
            if not gateway:
                continue  # connected routes come back with the address
            result.append({'family': family, 'dst': msg.get_attr('RTA_DST'), 'dst_len': msg['dst_len'],
                           'gateway': gateway, 'priority': msg.get_attr('RTA_PRIORITY')})
    return result


def ovs_ports(bridge):
    res = subprocess.run(['ovs-vsctl', '--timeout=10', 'list-ports', bridge], capture_output=True,
                         text=True, check=False, env={'LANG': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
    return res.stdout.split() if res.returncode == 0 else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--bridge', required=True)
    p.add_argument('--interface', required=True)
    p.add_argument('--check', action='store_true')
    p.add_argument('--timeout', type=float, default=30)
    args = p.parse_args()

    with IPRoute() as ipr:
        phys = link_index(ipr, args.interface)
        if phys is None:
            return fail('interface %s does not exist' % args.interface)
        ports = ovs_ports(args.bridge)
        if ports is None:
            return fail('bridge %s does not exist (the role creates it first)' % args.bridge)
        br = link_index(ipr, args.bridge)
        moved_addrs = addresses(ipr, phys)
        moved_routes = gateway_routes(ipr, phys)
        enslaved = args.interface in ports
        if enslaved and not moved_addrs and not moved_routes:
            return done(False, args, [], [])
        if args.check:
            return done(True, args, moved_addrs, moved_routes)

        # From here on the host is briefly cut off: the interface stops delivering to the
        # kernel's stack as soon as OVS takes it, until the address is on the bridge.
        if not enslaved:
            subprocess.run(['ovs-vsctl', '--timeout=10', '--', '--may-exist', 'add-port', args.bridge,
                            args.interface], check=True)
        deadline = time.monotonic() + args.timeout
        while br is None:
            if time.monotonic() > deadline:
                return fail('bridge %s has no kernel interface after %ss' % (args.bridge, args.timeout))
            time.sleep(0.1)
            br = link_index(ipr, args.bridge)
        mtu = ipr.get_links(phys)[0].get_attr('IFLA_MTU')
        ipr.link('set', index=br, mtu=mtu, state='up')
        for family, address, prefixlen in moved_addrs:
            ipr.addr('del', index=phys, address=address, prefixlen=prefixlen, family=family)
            if (family, address, prefixlen) not in addresses(ipr, br):
                ipr.addr('add', index=br, address=address, prefixlen=prefixlen, family=family)
        for route in moved_routes:
            spec = dict(family=route['family'], dst_len=route['dst_len'], gateway=route['gateway'],
                        oif=br, table=254)
            if route['dst']:
                spec['dst'] = route['dst']
            if route['priority'] is not None:
                spec['priority'] = route['priority']
            ipr.route('replace', **spec)
        return done(True, args, moved_addrs, moved_routes)


def done(changed, args, addrs, routes):
    print(json.dumps({'changed': changed, 'bridge': args.bridge, 'interface': args.interface,
                      'addresses': ['%s/%s' % (a, n) for _f, a, n in addrs],
                      'routes': ['%s/%s via %s' % (r['dst'] or 'default', r['dst_len'], r['gateway'])
                                 for r in routes]}))
    return 0


def fail(msg):
    print(json.dumps({'changed': False, 'failed': True, 'msg': msg}))
    return 1


if __name__ == '__main__':
    sys.exit(main())
