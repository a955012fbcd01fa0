# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import random

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils._cidr import CidrError, natural_key, plan_allocations

SEED_002 = dict(supernet='172.17.0.0/16', host_prefix=18, bridge_block='172.17.42.0/24', mtu=1462)


def layout(plan):
    """{host: (address, fixed_cidr)}: what the tests compare."""
    return dict((name, (a['address'], a['fixed_cidr'])) for name, a in plan['allocations'].items())


def live(plan):
    """The hosts list a next run would gather once the plan is applied."""
    return [{'name': name, 'current_address': a['address'], 'current_fixed_cidr': a['fixed_cidr']}
            for name, a in plan['allocations'].items()]


def test_seed_002_layout():
    plan = plan_allocations(hosts=[{'name': 'host1'}, {'name': 'host2'}, {'name': 'host3'}], **SEED_002)
    assert layout(plan) == {
        'host1': ('172.17.42.1/16', '172.17.64.0/18'),
        'host2': ('172.17.42.2/16', '172.17.128.0/18'),
        'host3': ('172.17.42.3/16', '172.17.192.0/18'),
    }
    assert plan['allocations']['host2']['gateway'] == '172.17.42.2'
    assert plan['allocations']['host2']['mtu'] == 1462
    assert plan['free_ranges'] == 0
    assert plan['warnings'] == []


def test_seed_002_has_room_for_three_hosts_only():
    # 172.17.42.0/24 lies in 172.17.0.0/18: that range is lost for containers.
    with pytest.raises(CidrError, match=r'supernet 172\.17\.0\.0/16 is too small.*takes 1.*host4'):
        plan_allocations(hosts=[{'name': 'host%d' % n} for n in range(1, 5)], **SEED_002)


def test_default_bridge_block_is_the_first_range():
    plan = plan_allocations(hosts=[{'name': 'a'}, {'name': 'b'}])
    assert plan['bridge_block'] == '172.17.0.0/24'
    assert layout(plan) == {'a': ('172.17.0.1/16', '172.17.1.0/24'), 'b': ('172.17.0.2/16', '172.17.2.0/24')}
    assert 'mtu' not in plan['allocations']['a']
    assert plan['free_ranges'] == 256 - 1 - 2


def test_order_independence_and_natural_order():
    names = ['host10', 'host2', 'host1', 'web', 'Host3']
    expected = layout(plan_allocations(hosts=[{'name': n} for n in names]))
    for seed in range(5):
        random.Random(seed).shuffle(names)
        assert layout(plan_allocations(hosts=[{'name': n} for n in names])) == expected
    assert expected['host1'][1] == '172.17.1.0/24'
    assert expected['host2'][1] == '172.17.2.0/24'
    assert expected['Host3'][1] == '172.17.3.0/24'
    assert expected['host10'][1] == '172.17.4.0/24'
    assert sorted(['b10', 'b9', 'a'], key=natural_key) == ['a', 'b9', 'b10']


def test_sticky_ranges_and_addresses():
    hosts = [
        {'name': 'a', 'current_address': '172.17.0.7/16', 'current_fixed_cidr': '172.17.9.0/24'},
        {'name': 'b'},
    ]
    plan = plan_allocations(hosts=hosts)
    assert layout(plan) == {'a': ('172.17.0.7/16', '172.17.9.0/24'), 'b': ('172.17.0.1/16', '172.17.1.0/24')}
    assert plan['allocations']['a']['kept_address'] and plan['allocations']['a']['kept_fixed_cidr']
    assert not plan['allocations']['b']['kept_address']


def test_applied_plan_is_stable():
    first = plan_allocations(hosts=[{'name': 'host1'}, {'name': 'host2'}, {'name': 'host3'}], **SEED_002)
    again = plan_allocations(hosts=live(first), **SEED_002)
    assert layout(again) == layout(first)
    assert all(a['kept_address'] and a['kept_fixed_cidr'] for a in again['allocations'].values())
    assert again['warnings'] == []


def test_fourth_host_keeps_the_first_three():
    # /19 ranges: 8 of them, one holds the bridge block.
    params = dict(SEED_002)
    params['host_prefix'] = 19
    first = plan_allocations(hosts=[{'name': 'host2'}, {'name': 'host3'}, {'name': 'host4'}], **params)
    # host1 is new and sorts first, yet the others keep their ranges and addresses.
    second = plan_allocations(hosts=live(first) + [{'name': 'host1'}], **params)
    for name in ('host2', 'host3', 'host4'):
        assert layout(second)[name] == layout(first)[name]
    assert layout(second)['host1'] == ('172.17.42.4/16', '172.17.128.0/19')


def test_removal_keeps_the_others_and_frees_the_range():
    first = plan_allocations(hosts=[{'name': 'host1'}, {'name': 'host2'}, {'name': 'host3'}], **SEED_002)
    rest = [h for h in live(first) if h['name'] != 'host2']
    second = plan_allocations(hosts=rest, **SEED_002)
    assert layout(second) == {'host1': layout(first)['host1'], 'host3': layout(first)['host3']}
    third = plan_allocations(hosts=rest + [{'name': 'host4'}], **SEED_002)
    assert layout(third)['host4'] == ('172.17.42.2/16', '172.17.128.0/18')


def test_exhaustion_of_the_bridge_block():
    with pytest.raises(CidrError, match=r'bridge_block 172\.17\.42\.0/30 is too small.*c'):
        plan_allocations(hosts=[{'name': 'a'}, {'name': 'b'}, {'name': 'c'}], supernet='172.17.0.0/16',
                         bridge_block='172.17.42.0/30')


def test_fresh_docker_hosts_share_172_17_0_1():
    # Every fresh Docker install has docker0 172.17.0.1/16: not an error, the first host keeps it.
    hosts = [{'name': n, 'current_address': '172.17.0.1/16'} for n in ('b', 'a', 'c')]
    plan = plan_allocations(hosts=hosts)
    assert [plan['allocations'][n]['address'] for n in 'abc'] == ['172.17.0.1/16', '172.17.0.2/16', '172.17.0.3/16']
    assert len(plan['warnings']) == 2 and 'host b: docker0 address 172.17.0.1' in plan['warnings'][0]


def test_unusable_current_range_is_replaced_with_a_warning():
    hosts = [
        {'name': 'a', 'current_fixed_cidr': '172.17.0.0/16'},  # the whole supernet: wrong prefix
        {'name': 'b', 'current_fixed_cidr': '172.17.0.0/16'},  # same: no error, both move
        {'name': 'c', 'current_fixed_cidr': '172.17.5.1/24'},  # host bits
        {'name': 'd', 'current_fixed_cidr': '10.0.0.0/24'},  # outside
        {'name': 'e', 'current_fixed_cidr': '172.17.0.0/18'},  # wrong prefix, holds the bridge block
    ]
    plan = plan_allocations(hosts=hosts, supernet='172.17.0.0/16', host_prefix=24, bridge_block='172.17.42.0/24')
    assert not any(a['kept_fixed_cidr'] for a in plan['allocations'].values())
    text = '\n'.join(plan['warnings'])
    for reason in ('prefix /16 is not host_prefix /24', 'host bits set', 'outside supernet',
                   'prefix /18 is not host_prefix /24'):
        assert reason in text
    assert len(plan['warnings']) == 5
    plan = plan_allocations(hosts=[{'name': 'e', 'current_fixed_cidr': '172.17.42.0/24'}],
                            bridge_block='172.17.42.0/24')
    assert 'overlaps bridge_block' in plan['warnings'][0]


def test_address_prefix_is_corrected_with_a_warning():
    plan = plan_allocations(hosts=[{'name': 'a', 'current_address': '172.17.42.9/24'}], **SEED_002)
    assert plan['allocations']['a']['address'] == '172.17.42.9/16'
    assert plan['allocations']['a']['kept_address']
    assert 'gets the prefix of the supernet: 172.17.42.9/16' in plan['warnings'][0]


def test_address_outside_the_bridge_block_is_replaced():
    plan = plan_allocations(hosts=[{'name': 'a', 'current_address': '172.17.0.1/16'}], **SEED_002)
    assert plan['allocations']['a']['address'] == '172.17.42.1/16'
    # The network and broadcast addresses of the block are never kept.
    for edge in ('172.17.42.0/16', '172.17.42.255/16'):
        plan = plan_allocations(hosts=[{'name': 'a', 'current_address': edge}], **SEED_002)
        assert plan['allocations']['a']['address'] == '172.17.42.1/16'


def test_two_hosts_claiming_the_same_range():
    hosts = [{'name': 'x', 'current_fixed_cidr': '172.17.128.0/18'},
             {'name': 'y', 'current_fixed_cidr': '172.17.128.0/18'}]
    with pytest.raises(CidrError, match=r'hosts x, y all claim fixed_cidr 172\.17\.128\.0/18'):
        plan_allocations(hosts=hosts, **SEED_002)


def test_route_and_underlay_overlaps():
    hosts = [{'name': 'a', 'routes': ['0.0.0.0/0', '172.17.0.0/16', '192.168.1.5/24', '172.17.5.0/24']}]
    with pytest.raises(CidrError, match=r'hosts\[0\]\.routes\[3\] \(host a\): supernet 172\.17\.0\.0/16 overlaps '
                                        r'the route 172\.17\.5\.0/24'):
        plan_allocations(hosts=hosts)
    with pytest.raises(CidrError, match=r'underlay\[1\]: supernet 172\.17\.0\.0/16 overlaps the underlay network '
                                        r'172\.16\.0\.0/12'):
        plan_allocations(hosts=[{'name': 'a'}], underlay=['10.0.0.0/8', '172.16.0.0/12'])
    # The default route, the supernet's own connected route and other networks are fine.
    plan_allocations(hosts=[dict(hosts[0], routes=hosts[0]['routes'][:3])], underlay=['10.0.0.0/8'])


@pytest.mark.parametrize('kwargs, message', [
    (dict(supernet='172.17.0.0'), r"supernet: '172\.17\.0\.0' is not a network in CIDR notation"),
    (dict(supernet='172.17.0.0/33'), r"supernet: '172\.17\.0\.0/33' is not a valid CIDR"),
    (dict(supernet='fd00::/64'), r'supernet: .* is not an IPv4 network'),
    (dict(supernet='172.17.0.1/16'), r'supernet: .* has host bits set, did you mean 172\.17\.0\.0/16\?'),
    (dict(host_prefix=16), r'host_prefix: /16 must be longer than the prefix of supernet 172\.17\.0\.0/16'),
    (dict(host_prefix=12), r'host_prefix: /12 must be longer'),
    (dict(host_prefix=31), r'host_prefix: /31 leaves no room'),
    (dict(bridge_block='172.18.42.0/24'), r'bridge_block: 172\.18\.42\.0/24 is outside supernet 172\.17\.0\.0/16'),
    (dict(bridge_block='172.17.42.0/31'), r'bridge_block: 172\.17\.42\.0/31 is too small'),
    (dict(bridge_block='bogus'), r"bridge_block: 'bogus' is not a network in CIDR notation"),
    (dict(mtu=20), r'mtu: 20 must be an integer between 68 and 65535'),
    (dict(underlay=['10.0.0.0/x']), r"underlay\[0\]: '10\.0\.0\.0/x' is not a valid CIDR"),
    (dict(hosts=[{'name': 'a', 'current_fixed_cidr': 'foo'}]),
     r"hosts\[0\]\.current_fixed_cidr \(host a\): 'foo' is not a network in CIDR notation"),
    (dict(hosts=[{'name': 'a', 'current_address': '172.17.300.1/16'}]),
     r"hosts\[0\]\.current_address \(host a\): '172\.17\.300\.1/16' is not a valid address"),
    (dict(hosts=[{'name': 'a', 'routes': ['nope']}]), r"hosts\[0\]\.routes\[0\] \(host a\): 'nope'"),
    (dict(hosts=[{'name': 'a'}, {'name': 'a'}]), r'hosts\[1\]: host a is listed twice'),
    (dict(hosts=[{'current_address': '172.17.0.1/16'}]), r'hosts\[0\]: needs a name'),
])
def test_invalid_input_names_the_field(kwargs, message):
    kwargs.setdefault('hosts', [{'name': 'a'}])
    with pytest.raises(CidrError, match=message):
        plan_allocations(**kwargs)


def test_all_host_errors_are_reported_together():
    hosts = [{'name': 'a', 'current_fixed_cidr': 'foo', 'routes': ['172.17.1.0/24']},
             {'name': 'b', 'current_address': 'bar'}]
    with pytest.raises(CidrError) as info:
        plan_allocations(hosts=hosts)
    assert str(info.value).count('; ') == 2


def test_large_bridge_block_is_skipped_whole():
    plan = plan_allocations(hosts=[{'name': 'a'}], supernet='10.0.0.0/8', host_prefix=30, bridge_block='10.0.0.0/9')
    assert plan['allocations']['a']['fixed_cidr'] == '10.128.0.0/30'
    assert plan['allocations']['a']['address'] == '10.0.0.1/8'
