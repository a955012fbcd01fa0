# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress
import itertools
import random
import re

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _mesh
from ansible_collections.ovsmesh.overlay.plugins.module_utils._mesh import (
    MeshError,
    mesh_peers,
    overlay_mtu,
    plan_tunnels,
    port_name,
    stp_priority,
    underlay_address,
)

# A valid Linux interface name as OVS and iproute2 accept it, the 15-character limit included.
IFNAME_RE = re.compile(r'^[a-z0-9][a-z0-9-]{0,14}$')


def make_hostvars(count, ipv6=False, base=None):
    """count hosts named h1..hN; the address order is deliberately not the name order."""
    hostvars = {}
    for index in range(1, count + 1):
        # h1 gets the highest address, hN the lowest, and .9 < .10 numerically but not as text.
        last = 20 - index if count < 10 else 200 - index
        if ipv6:
            address = '2001:db8::%x' % last
        else:
            address = '%s%d' % (base or '10.50.10.', last)
        hostvars['h%d' % index] = {'ovsmesh_underlay_ip': address}
    return hostvars


def links(hostvars, topology, hub=None):
    """The undirected tunnel links of the whole mesh, planned host by host."""
    hosts = list(hostvars)
    edges = set()
    for me in hosts:
        for tunnel in plan_tunnels(hosts, hostvars, me, topology=topology, hub=hub):
            edges.add(frozenset((me, tunnel['peer'])))
    return edges


def directed(hostvars, topology, hub=None):
    hosts = list(hostvars)
    return {(me, tunnel['peer'])
            for me in hosts
            for tunnel in plan_tunnels(hosts, hostvars, me, topology=topology, hub=hub)}


# --- underlay addresses -----------------------------------------------------------------------

def test_underlay_ip_wins_over_ansible_host():
    address = underlay_address('h1', {'ovsmesh_underlay_ip': '10.0.0.1', 'ansible_host': '192.0.2.1'})
    assert address == ipaddress.ip_address('10.0.0.1')


def test_underlay_falls_back_to_ansible_host_ip():
    assert underlay_address('h1', {'ansible_host': '192.0.2.7'}) == ipaddress.ip_address('192.0.2.7')
    assert underlay_address('h1', {'ovsmesh_underlay_ip': '', 'ansible_host': '2001:db8::1'}).version == 6


@pytest.mark.parametrize('host_vars', [
    {},
    {'ansible_host': 'node1.example.com'},
    {'ovsmesh_underlay_ip': None, 'ansible_host': 'node1'},
])
def test_underlay_missing_names_the_host(host_vars):
    with pytest.raises(MeshError, match=r'host node1 has no underlay address.*ovsmesh_underlay_ip'):
        underlay_address('node1', host_vars)


@pytest.mark.parametrize('value', ['10.0.0.1/24', 'node2', '10.0.0.256', 42])
def test_underlay_ip_that_is_not_an_ip_is_refused(value):
    # No silent fall back to ansible_host when ovsmesh_underlay_ip is set but wrong.
    with pytest.raises(MeshError, match=r'ovsmesh_underlay_ip of host node2 must be an IP address'):
        underlay_address('node2', {'ovsmesh_underlay_ip': value, 'ansible_host': '10.0.0.9'})


@pytest.mark.parametrize('value', ['0.0.0.0', '::', '239.1.1.1'])
def test_underlay_ip_unusable_as_endpoint(value):
    with pytest.raises(MeshError, match=r'host h1 cannot be a tunnel endpoint'):
        underlay_address('h1', {'ovsmesh_underlay_ip': value})


def test_duplicate_underlay_ip_names_both_hosts():
    hostvars = {'a': {'ovsmesh_underlay_ip': '10.0.0.1'},
                'b': {'ovsmesh_underlay_ip': '10.0.0.2'},
                'c': {'ansible_host': '10.0.0.1'}}
    with pytest.raises(MeshError, match=r'hosts a and c have the same underlay address 10\.0\.0\.1'):
        plan_tunnels(['c', 'b', 'a'], hostvars, 'b')


def test_duplicate_ipv6_spelled_differently_is_found():
    hostvars = {'a': {'ovsmesh_underlay_ip': '2001:db8::1'}, 'b': {'ovsmesh_underlay_ip': '2001:DB8:0::0:1'}}
    with pytest.raises(MeshError, match='hosts a and b have the same underlay address'):
        plan_tunnels(['a', 'b'], hostvars, 'a')


def test_mixed_address_families_refused():
    hostvars = {'a': {'ovsmesh_underlay_ip': '10.0.0.1'}, 'b': {'ovsmesh_underlay_ip': '2001:db8::1'}}
    with pytest.raises(MeshError, match=r'mix IPv4 \(host a\) and IPv6 \(host b\)'):
        plan_tunnels(['a', 'b'], hostvars, 'a')


def test_host_without_hostvars_refused():
    with pytest.raises(MeshError, match='host ghost is not in the inventory'):
        plan_tunnels(['h1', 'ghost'], make_hostvars(1), 'h1')


# --- port names -------------------------------------------------------------------------------

@pytest.mark.parametrize('tunnel_type, address, expected', [
    ('gre', '10.50.10.11', 'gre-0a320a0b'),
    ('vxlan', '10.50.10.11', 'vxl-0a320a0b'),
    ('geneve', '192.168.1.2', 'gnv-c0a80102'),
    ('gre', '255.255.255.255', 'gre-ffffffff'),
])
def test_port_name_ipv4(tunnel_type, address, expected):
    assert port_name(tunnel_type, ipaddress.ip_address(address)) == expected


def test_port_name_ipv6_is_a_stable_hash():
    name = port_name('vxlan', ipaddress.ip_address('2001:db8::2'))
    assert name == 'vxl6-4944ea2320'
    assert port_name('vxlan', ipaddress.ip_address('2001:db8:0::2')) == name
    assert port_name('vxlan', ipaddress.ip_address('2001:db8::3')) != name


def test_port_names_fit_and_are_valid():
    rng = random.Random(7)
    for tunnel_type in _mesh.TUNNEL_TYPES:
        for dummy in range(200):
            v4 = ipaddress.IPv4Address(rng.getrandbits(32))
            v6 = ipaddress.IPv6Address(rng.getrandbits(128))
            for address in (v4, v6):
                name = port_name(tunnel_type, address)
                assert len(name) <= 15, name
                assert IFNAME_RE.match(name), name


def test_planned_names_fit_for_every_topology_and_type():
    for ipv6, topology, tunnel_type in itertools.product((False, True), _mesh.TOPOLOGIES, _mesh.TUNNEL_TYPES):
        hostvars = make_hostvars(5, ipv6=ipv6)
        for me in hostvars:
            for tunnel in plan_tunnels(list(hostvars), hostvars, me, topology, hub='h3', tunnel_type=tunnel_type):
                assert len(tunnel['name']) <= 15 and IFNAME_RE.match(tunnel['name'])


def test_name_depends_on_peer_not_position():
    hostvars = make_hostvars(3)
    before = {t['peer']: t['name'] for t in plan_tunnels(list(hostvars), hostvars, 'h1')}
    # Adding a host keeps the names of the existing tunnels.
    hostvars['h0'] = {'ovsmesh_underlay_ip': '10.50.10.1'}
    after = {t['peer']: t['name'] for t in plan_tunnels(list(hostvars), hostvars, 'h1')}
    assert {peer: after[peer] for peer in before} == before
    assert after['h0'] == 'gre-0a320a01'


def test_name_collision_refused(monkeypatch):
    # IPv4 names cannot clash; a clash of IPv6 hashes must not make one tunnel replace another.
    monkeypatch.setattr(_mesh, 'port_name', lambda tunnel_type, address: 'gre6-0000000000')
    hostvars = make_hostvars(3, ipv6=True)
    with pytest.raises(MeshError, match=r'tunnels to h2 and h3 would both be named gre6-0000000000'):
        plan_tunnels(list(hostvars), hostvars, 'h1')


# --- tunnel dicts -----------------------------------------------------------------------------

def test_tunnel_dict_gre():
    hostvars = make_hostvars(2)
    assert plan_tunnels(['h1', 'h2'], hostvars, 'h1') == [
        {'name': 'gre-0a320a12', 'type': 'gre', 'remote_ip': '10.50.10.18', 'peer': 'h2'}]


def test_tunnel_dict_vxlan_key_and_default_port():
    hostvars = make_hostvars(2)
    assert plan_tunnels(['h1', 'h2'], hostvars, 'h2', tunnel_type='vxlan', key='42') == [
        {'name': 'vxl-0a320a13', 'type': 'vxlan', 'remote_ip': '10.50.10.19', 'peer': 'h1',
         'key': 42, 'dst_port': 4789}]


@pytest.mark.parametrize('tunnel_type, dst_port, expected', [
    ('vxlan', None, 4789),
    ('vxlan', 8472, 8472),
    ('geneve', None, 6081),
    ('geneve', '6082', 6082),
])
def test_dst_port(tunnel_type, dst_port, expected):
    hostvars = make_hostvars(2)
    tunnels = plan_tunnels(['h1', 'h2'], hostvars, 'h1', tunnel_type=tunnel_type, dst_port=dst_port)
    assert tunnels[0]['dst_port'] == expected


def test_gre_has_no_port_and_key_left_out_when_unset():
    hostvars = make_hostvars(2)
    tunnel = plan_tunnels(['h1', 'h2'], hostvars, 'h1', tunnel_type='gre', dst_port=4789, key='')[0]
    assert 'dst_port' not in tunnel and 'key' not in tunnel


@pytest.mark.parametrize('tunnel_type, key', [
    ('gre', 2 ** 32), ('vxlan', 2 ** 24), ('geneve', 2 ** 24), ('gre', -1), ('gre', True), ('gre', 'abc'),
])
def test_bad_key_refused(tunnel_type, key):
    with pytest.raises(MeshError, match='ovsmesh_tunnel_key'):
        plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h1', tunnel_type=tunnel_type, key=key)


@pytest.mark.parametrize('tunnel_type, key', [('gre', 2 ** 32 - 1), ('vxlan', 2 ** 24 - 1), ('geneve', 0)])
def test_key_limits_accepted(tunnel_type, key):
    assert plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h1', tunnel_type=tunnel_type, key=key)[0]['key'] == key


@pytest.mark.parametrize('dst_port', [0, 65536, 'x', 4789.0])
def test_bad_dst_port_refused(dst_port):
    with pytest.raises(MeshError, match='ovsmesh_vxlan_port'):
        plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h1', tunnel_type='vxlan', dst_port=dst_port)


@pytest.mark.parametrize('kwargs, field', [
    ({'topology': 'star'}, 'ovsmesh_topology'),
    ({'tunnel_type': 'ipip'}, 'ovsmesh_tunnel_type'),
])
def test_bad_choice_refused(kwargs, field):
    with pytest.raises(MeshError, match='%s must be one of' % field):
        plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h1', **kwargs)


def test_me_must_be_a_mesh_host():
    with pytest.raises(MeshError, match=r'host h9 is not one of the mesh hosts \(h1, h2\)'):
        plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h9')


@pytest.mark.parametrize('hosts', ['h1', None, [None], ['h1', 3]])
def test_hosts_must_be_a_list_of_names(hosts):
    with pytest.raises(MeshError, match='mesh hosts must be'):
        plan_tunnels(hosts, make_hostvars(2), 'h1')


def test_result_sorted_by_name():
    hostvars = make_hostvars(6)
    names = [t['name'] for t in plan_tunnels(list(hostvars), hostvars, 'h3')]
    assert names == sorted(names) and len(names) == 5


# --- topologies -------------------------------------------------------------------------------

def test_full_mesh_over_three_hosts_gives_three_links():
    edges = links(make_hostvars(3), 'full_mesh')
    assert edges == {frozenset(('h1', 'h2')), frozenset(('h1', 'h3')), frozenset(('h2', 'h3'))}


def test_full_mesh_links_every_pair():
    assert len(links(make_hostvars(6), 'full_mesh')) == 6 * 5 // 2


def test_ring_over_four_hosts_is_one_cycle():
    hostvars = make_hostvars(4)
    hosts = list(hostvars)
    peers = {me: [t['peer'] for t in plan_tunnels(hosts, hostvars, me, topology='ring')] for me in hosts}
    assert all(len(p) == 2 for p in peers.values()), peers
    # Walk the ring from h1: a single cycle visits all four hosts before coming back.
    seen, previous, current = ['h1'], None, 'h1'
    while True:
        following = [p for p in peers[current] if p != previous][0]
        if following == 'h1':
            break
        seen.append(following)
        previous, current = current, following
    assert sorted(seen) == sorted(hosts)
    assert len(links(hostvars, 'ring')) == 4


def test_ring_follows_addresses_not_inventory_order():
    # Numerically .2 < .9 < .10 < .11, but the inventory lists them otherwise (and text order differs).
    hostvars = {'a': {'ovsmesh_underlay_ip': '10.0.0.10'}, 'b': {'ovsmesh_underlay_ip': '10.0.0.2'},
                'c': {'ovsmesh_underlay_ip': '10.0.0.11'}, 'd': {'ovsmesh_underlay_ip': '10.0.0.9'},
                'e': {'ovsmesh_underlay_ip': '10.0.0.100'}}
    # The ring is b(.2) - d(.9) - a(.10) - c(.11) - e(.100) - back to b.
    assert links(hostvars, 'ring') == {frozenset(pair) for pair in
                                       (('b', 'd'), ('d', 'a'), ('a', 'c'), ('c', 'e'), ('e', 'b'))}


def test_ring_of_two_and_of_one():
    hostvars = make_hostvars(2)
    assert [t['peer'] for t in plan_tunnels(['h1', 'h2'], hostvars, 'h1', topology='ring')] == ['h2']
    assert [t['peer'] for t in plan_tunnels(['h1', 'h2'], hostvars, 'h2', topology='ring')] == ['h1']
    assert plan_tunnels(['h1'], make_hostvars(1), 'h1', topology='ring') == []
    assert plan_tunnels(['h1'], make_hostvars(1), 'h1') == []


def test_hub_and_spokes():
    hostvars = make_hostvars(5)
    hosts = list(hostvars)
    # Sorted by name, so by address: h5 has the lowest one.
    assert [t['peer'] for t in plan_tunnels(hosts, hostvars, 'h3', topology='hub', hub='h3')] == \
        ['h5', 'h4', 'h2', 'h1']
    for spoke in ('h1', 'h2', 'h4', 'h5'):
        assert [t['peer'] for t in plan_tunnels(hosts, hostvars, spoke, topology='hub', hub='h3')] == ['h3']


@pytest.mark.parametrize('hub, message', [
    ('h9', r"ovsmesh_hub 'h9' is not one of the mesh hosts"),
    (None, r'ovsmesh_hub must name a host'),
    ('', r'ovsmesh_hub must name a host'),
])
def test_bad_hub_refused(hub, message):
    with pytest.raises(MeshError, match=message):
        plan_tunnels(['h1', 'h2'], make_hostvars(2), 'h1', topology='hub', hub=hub)


def test_hub_ignored_by_other_topologies():
    hostvars = make_hostvars(3)
    assert len(plan_tunnels(list(hostvars), hostvars, 'h1', topology='full_mesh', hub='h9')) == 2


@pytest.mark.parametrize('topology', _mesh.TOPOLOGIES)
@pytest.mark.parametrize('count', range(1, 8))
@pytest.mark.parametrize('ipv6', [False, True])
def test_tunnels_are_symmetric(topology, count, ipv6):
    edges = directed(make_hostvars(count, ipv6=ipv6), topology, hub='h1')
    assert all((b, a) in edges for a, b in edges)
    assert all(a != b for a, b in edges)


@pytest.mark.parametrize('topology', _mesh.TOPOLOGIES)
def test_result_independent_of_inventory_order(topology):
    hostvars = make_hostvars(6)
    hosts = list(hostvars)
    expected = {me: plan_tunnels(hosts, hostvars, me, topology=topology, hub='h2', tunnel_type='vxlan')
                for me in hosts}
    rng = random.Random(1)
    for dummy in range(20):
        shuffled = hosts[:]
        rng.shuffle(shuffled)
        shuffled_vars = {host: hostvars[host] for host in shuffled}  # the hostvars order too
        for me in hosts:
            assert plan_tunnels(shuffled, shuffled_vars, me, topology=topology, hub='h2',
                                tunnel_type='vxlan') == expected[me]


def test_mesh_peers_directly():
    addresses = {'a': ipaddress.ip_address('10.0.0.3'), 'b': ipaddress.ip_address('10.0.0.1'),
                 'c': ipaddress.ip_address('10.0.0.2')}
    assert mesh_peers(addresses, 'a') == ['b', 'c']
    assert mesh_peers(addresses, 'b', 'hub', hub='a') == ['a']


# --- MTU --------------------------------------------------------------------------------------

@pytest.mark.parametrize('underlay, tunnel_type, ipv6, expected', [
    (1500, 'gre', False, 1462),    # seed 002, measured in the lab
    (1500, 'vxlan', False, 1450),  # measured in the lab
    (1500, 'geneve', False, 1450),
    (1500, 'gre', True, 1442),
    (1500, 'vxlan', True, 1430),
    (9000, 'gre', False, 8962),
    ('1500', 'vxlan', 'yes', 1430),
])
def test_mtu_auto(underlay, tunnel_type, ipv6, expected):
    assert overlay_mtu(underlay, tunnel_type, ipv6) == expected


@pytest.mark.parametrize('requested', [1400, 1462, '1400', 68])
def test_mtu_requested_that_fits(requested):
    assert overlay_mtu(1500, 'gre', requested=requested) == int(requested)


def test_mtu_requested_too_big_says_the_maximum():
    with pytest.raises(MeshError, match=r'requested MTU 1463 does not fit.*the maximum is 1462'):
        overlay_mtu(1500, 'gre', requested=1463)
    with pytest.raises(MeshError, match=r'requested MTU 1500 .*vxlan over IPv6.*the maximum is 1430'):
        overlay_mtu(1500, 'vxlan', ipv6=True, requested=1500)


@pytest.mark.parametrize('requested', [67, 65536, 0, True, 'big', 1400.5])
def test_mtu_requested_out_of_range_refused(requested):
    with pytest.raises(MeshError, match='requested MTU must be'):
        overlay_mtu(9000, 'gre', requested=requested)


@pytest.mark.parametrize('underlay', [67, 65536, None, 'x'])
def test_mtu_bad_underlay_refused(underlay):
    with pytest.raises(MeshError, match='underlay MTU must be'):
        overlay_mtu(underlay)


def test_mtu_underlay_too_small_for_the_overhead():
    with pytest.raises(MeshError, match=r'underlay MTU of 100 leaves no room for vxlan over IPv6 \(70 bytes'):
        overlay_mtu(100, 'vxlan', ipv6=True)


def test_mtu_bad_type_and_family():
    with pytest.raises(MeshError, match='ovsmesh_tunnel_type must be one of'):
        overlay_mtu(1500, 'ipip')
    with pytest.raises(MeshError, match='ipv6 must be a boolean'):
        overlay_mtu(1500, 'gre', ipv6='maybe')


# --- STP priority -----------------------------------------------------------------------------

def test_stp_root_gets_the_lowest_priority():
    hosts = ['h1', 'h2', 'h3']
    assert {me: stp_priority(hosts, me, root='h2') for me in hosts} == {'h1': 32768, 'h2': 4096, 'h3': 32768}
    assert stp_priority(hosts, 'h2', root='h2', stp='stp') == 4096


@pytest.mark.parametrize('root', [None, ''])
def test_stp_no_root_gives_the_default(root):
    assert {stp_priority(['h1', 'h2'], me, root=root) for me in ('h1', 'h2')} == {32768}


def test_stp_errors():
    with pytest.raises(MeshError, match=r"ovsmesh_stp_root 'h9' is not one of the mesh hosts \(h1, h2\)"):
        stp_priority(['h1', 'h2'], 'h1', root='h9')
    with pytest.raises(MeshError, match='stp must be one of rstp, stp'):
        stp_priority(['h1', 'h2'], 'h1', stp='mstp')
    with pytest.raises(MeshError, match='host h9 is not one of the mesh hosts'):
        stp_priority(['h1', 'h2'], 'h9')
