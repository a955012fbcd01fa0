# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.ovsmesh.overlay.plugins.modules import ovs_tunnel
from ansible_collections.ovsmesh.overlay.tests.unit.plugins.module_utils.test_ovs import (
    OVS, ovs_json, run_module, state_of,
)

MARK = {'ovsmesh-managed': 'true'}
LOCAL = {'192.0.2.2', 'fd00::2'}


def params(**kwargs):
    base = dict((name, None) for name in ('name', 'tunnels', 'type', 'remote_ip', 'local_ip', 'key',
                                          'dst_port', 'options', 'bfd'))
    base.update(bridge='br0', state='present', exclusive=False, timeout=10)
    base.update(kwargs)
    return base


def item(name, **kwargs):
    base = dict((field, None) for field in ovs_tunnel.ITEM_FIELDS)
    base.update(name=name, **kwargs)
    return base


def gre(remote_ip, **options):
    return {'type': 'gre', 'options': dict(remote_ip=remote_ip, **options), 'bfd': {'enable': 'true'}}


# br0 holds two managed GRE tunnels and one port somebody else made; br1 holds one more.
STATE = {
    'br0': ({}, {'gre-a': (MARK, gre('192.0.2.10')),
                 'gre-b': (MARK, gre('192.0.2.11', key='7')),
                 'manual': ({}, gre('192.0.2.99'))}),
    'br1': ({}, {'other': (MARK, gre('192.0.2.50'))}),
}


def plan(**kwargs):
    p = params(**kwargs)
    tunnels = ovs_tunnel.want_tunnels(p)
    ovs_tunnel.check_self_tunnels(tunnels, LOCAL)
    return ovs_tunnel.plan(p, tunnels, state_of(STATE))


def mesh(*items, **kwargs):
    kwargs.setdefault('type', 'gre')
    kwargs.setdefault('bfd', {'enable': True})
    return plan(tunnels=list(items), **kwargs)


# --- planning -----------------------------------------------------------------------------

def test_create_single_tunnel():
    commands, before, after = plan(name='vx-c', type='vxlan', remote_ip='2001:DB8::1', key=4242,
                                   dst_port=4789, bfd={'enable': True, 'min_tx': 100})
    assert commands == [
        ['add-port', 'br0', 'vx-c', 'external_ids:ovsmesh-managed=true'],
        ['set', 'Interface', 'vx-c', 'type=vxlan', 'options:dst_port=4789', 'options:key=4242',
         'options:remote_ip="2001:db8::1"', 'bfd:enable=true', 'bfd:min_tx=100'],
    ]
    assert 'vx-c' not in before
    assert after['vx-c']['options'] == {'dst_port': '4789', 'key': '4242', 'remote_ip': '2001:db8::1'}


def test_list_merges_module_defaults_per_item():
    commands = mesh(item('gre-a', remote_ip='192.0.2.10'),
                    item('gre-b', remote_ip='192.0.2.11', key=7),
                    item('gre-c', remote_ip='192.0.2.12', options={'ttl': 32}),
                    options={'csum': True})[0]
    assert commands == [
        ['set', 'Interface', 'gre-a', 'options:csum=true'],
        ['set', 'Interface', 'gre-b', 'options:csum=true'],
        ['add-port', 'br0', 'gre-c', 'external_ids:ovsmesh-managed=true'],
        ['set', 'Interface', 'gre-c', 'type=gre', 'options:csum=true', 'options:remote_ip=192.0.2.12',
         'options:ttl=32', 'bfd:enable=true'],
    ]


def test_converged_list_is_a_noop():
    commands, before, after = mesh(item('gre-a', remote_ip='192.0.2.10'),
                                   item('gre-b', remote_ip='192.0.2.11', key=7), exclusive=True)
    assert commands == []
    assert before == after
    assert sorted(after) == ['gre-a', 'gre-b']  # the unmarked port is not ours


def test_changed_remote_ip_updates_in_place():
    commands, before, after = plan(name='gre-a', remote_ip='192.0.2.20')
    assert commands == [['set', 'Interface', 'gre-a', 'options:remote_ip=192.0.2.20']]
    assert before['gre-a']['options']['remote_ip'] == '192.0.2.10'
    assert after['gre-a']['options']['remote_ip'] == '192.0.2.20'
    assert after['gre-a']['bfd'] == {'enable': 'true'}  # untouched


def test_option_removal_and_type_change_in_place():
    commands = plan(name='gre-b', type='vxlan', options={'csum': None, 'ttl': 8})[0]
    assert commands == [['set', 'Interface', 'gre-b', 'type=vxlan', 'options:ttl=8']]
    commands = plan(name='gre-b', bfd={'enable': None})[0]
    assert commands == [['remove', 'Interface', 'gre-b', 'bfd', 'enable']]


def test_exclusive_prunes_only_marked_ports_of_this_bridge():
    commands, before, after = mesh(item('gre-a', remote_ip='192.0.2.10'), exclusive=True)
    assert commands == [['del-port', 'br0', 'gre-b']]
    assert sorted(after) == ['gre-a']


def test_without_exclusive_nothing_is_pruned():
    assert mesh(item('gre-a', remote_ip='192.0.2.10'))[0] == []


def test_exclusive_empty_list_prunes_all_marked():
    commands = plan(tunnels=[], exclusive=True)[0]
    assert commands == [['del-port', 'br0', 'gre-a'], ['del-port', 'br0', 'gre-b']]


def test_create_update_prune_in_one_plan():
    commands = mesh(item('gre-a', remote_ip='192.0.2.30'), item('gre-d', remote_ip='192.0.2.13'),
                    exclusive=True)[0]
    assert [c[0] for c in commands] == ['set', 'add-port', 'set', 'del-port']


def test_absent():
    assert plan(name='gre-a', state='absent')[0] == [['del-port', 'br0', 'gre-a']]
    assert plan(name='nothing', state='absent')[0] == []
    assert plan(name='other', state='absent')[0] == []  # on br1, not ours to delete here
    p = params(name='gre-a', state='absent', bridge='gone')
    assert ovs_tunnel.plan(p, ovs_tunnel.want_tunnels(p), state_of(STATE))[0] == []


# --- peer: external_ids:ovsmesh-peer on the Port -----------------------------------------------

PEER_STATE = {'br0': ({}, {'gre-p': (dict(MARK, **{'ovsmesh-peer': 'node2', 'other': 'x'}), gre('192.0.2.12'))})}


def plan_peer(state=None, **kwargs):
    p = params(**kwargs)
    return ovs_tunnel.plan(p, ovs_tunnel.want_tunnels(p), state_of(state or PEER_STATE))


def test_peer_is_set_with_the_add_port():
    commands, before, after = plan_peer(tunnels=[item('gre-q', type='gre', remote_ip='192.0.2.13', peer='node3')])
    assert commands == [
        ['add-port', 'br0', 'gre-q', 'external_ids:ovsmesh-managed=true', 'external_ids:ovsmesh-peer=node3'],
        ['set', 'Interface', 'gre-q', 'type=gre', 'options:remote_ip=192.0.2.13'],
    ]
    assert before['gre-p']['peer'] == 'node2' and 'gre-q' not in before
    assert after['gre-q']['peer'] == 'node3'


def test_peer_changed_is_updated_in_place():
    commands, before, after = plan_peer(name='gre-p', peer='host two.example')
    assert commands == [['set', 'Port', 'gre-p', 'external_ids:ovsmesh-peer="host two.example"']]
    assert (before['gre-p']['peer'], after['gre-p']['peer']) == ('node2', 'host two.example')


def test_peer_same_or_not_given_is_a_noop():
    for kwargs in ({'peer': 'node2'}, {}, {'remote_ip': '192.0.2.12'}):
        commands, before, after = plan_peer(name='gre-p', **kwargs)
        assert commands == [] and before == after
        assert after['gre-p']['peer'] == 'node2'


def test_peer_added_to_a_port_without_one():
    commands, before, after = plan(tunnels=[item('gre-a', peer='node10')])
    assert commands == [['set', 'Port', 'gre-a', 'external_ids:ovsmesh-peer=node10']]
    assert before['gre-a']['peer'] is None and after['gre-a']['peer'] == 'node10'


@pytest.mark.parametrize('peer', ['', ' ', 'a\nb'])
def test_bad_peer_names_the_field(peer):
    with pytest.raises(ValueError, match=r'^tunnels\[0\]\.peer: '):
        plan_peer(tunnels=[item('gre-q', type='gre', remote_ip='192.0.2.13', peer=peer)])


def test_module_takes_mesh_tunnels_items_with_peer(capsys, local_addresses):
    # What the mesh_tunnels filter returns goes to tunnels unchanged.
    tunnels = [{'name': 'gre-p', 'type': 'gre', 'remote_ip': '192.0.2.12', 'peer': 'node2'},
               {'name': 'gre-q', 'type': 'gre', 'remote_ip': '192.0.2.13', 'peer': 'node3'}]
    args = {'bridge': 'br0', 'tunnels': tunnels, '_ansible_diff': True}
    result, calls = run_module(ovs_tunnel.main, args, [(0, ovs_json(PEER_STATE), ''), (0, '', '')], capsys)
    assert calls[1] == [OVS, '--timeout=10', '--', 'add-port', 'br0', 'gre-q', 'external_ids:ovsmesh-managed=true',
                        'external_ids:ovsmesh-peer=node3',
                        '--', 'set', 'Interface', 'gre-q', 'type=gre', 'options:remote_ip=192.0.2.13']
    assert [(t['name'], t['peer']) for t in result['tunnels']] == [('gre-p', 'node2'), ('gre-q', 'node3')]
    assert result['diff']['after']['gre-q']['peer'] == 'node3'


def test_module_peer_and_tunnels_exclude_each_other(capsys, local_addresses):
    result, calls = run_module(ovs_tunnel.main, dict(MESH_ARGS, peer='node2'), [], capsys)
    assert result['failed'] and 'peer' in result['msg'] and calls == []


def test_gre_takes_a_32_bit_key():
    commands = plan(name='gre-a', key=4294967295)[0]
    assert commands == [['set', 'Interface', 'gre-a', 'options:key=4294967295']]


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, message', [
    ({'bridge': 'br0-is-far-too-long'}, 'bridge: '),
    ({'name': 'gre-is-far-too-long'}, 'name: '),
    ({'name': '-x'}, 'name: '),
    ({'name': 'a/b'}, 'name: '),
    ({'name': 'br0'}, 'name: '),
    ({'remote_ip': 'peer.example'}, 'remote_ip: '),
    ({'remote_ip': '224.0.0.5'}, 'remote_ip: '),
    ({'remote_ip': '192.0.2.2'}, 'remote_ip: 192.0.2.2 is an address of this host'),
    ({'remote_ip': 'fd00::2'}, 'remote_ip: fd00::2 is an address of this host'),
    ({'remote_ip': '127.0.0.1'}, 'remote_ip: '),
    ({'local_ip': 'flow'}, 'local_ip: '),
    ({'local_ip': 'me'}, 'local_ip: '),
    ({'type': 'stt'}, 'type: '),
    ({'type': 'vxlan', 'key': 16777216}, 'key: 16777216 is out of range 0..16777215'),
    ({'type': 'geneve', 'key': -1}, 'key: '),
    ({'type': 'gre', 'key': 4294967296}, 'key: 4294967296 is out of range 0..4294967295'),
    ({'type': 'gre', 'dst_port': 4789}, 'dst_port: '),
    ({'type': 'vxlan', 'dst_port': 65536}, 'dst_port: '),
    ({'options': {'bogus': 1}}, "options.bogus: unknown tunnel option 'bogus'"),
    ({'options': {'remote_ip': '192.0.2.9'}}, 'options.remote_ip: '),
    ({'options': {'key': 5}}, 'options.key: '),
    ({'type': 'gre', 'options': {'exts': 'gbp'}}, 'options.exts: '),
    ({'type': 'geneve', 'options': {'seq': True}}, 'options.seq: '),
    ({'options': {'csum': 'sometimes'}}, 'options.csum: '),
    ({'type': 'vxlan', 'options': {'in_key': 16777216}}, 'options.in_key: '),
    ({'key': 5, 'options': {'in_key': 5}}, 'key: '),
    ({'bfd': {'interval': 100}}, "bfd.interval: unknown bfd key 'interval'"),
    ({'bfd': {'enable': 'yes please'}}, 'bfd.enable: '),
    ({'bfd': {'mult': 0}}, 'bfd.mult: '),
])
def test_bad_single_tunnel_names_the_field(kwargs, message):
    args = dict(name='gre-x', type='gre', remote_ip='198.51.100.1')
    args.update(kwargs)
    with pytest.raises(ValueError) as exc:
        plan(**args)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize('items, kwargs, message', [
    ([item('t1', remote_ip='198.51.100.1'), item('t1', remote_ip='198.51.100.2')], {}, 'tunnels[1].name: '),
    ([item('t1', remote_ip='198.51.100.1'), item('t2', remote_ip='198.51.100.1')], {}, 'tunnels[1].remote_ip: '),
    ([item('t1', remote_ip='198.51.100.1', key=2 ** 24)], {'type': 'vxlan'}, 'tunnels[0].key: '),
    ([item('t1', remote_ip='198.51.100.1')], {'type': 'vxlan', 'key': 2 ** 24}, 'key: '),  # module-level default
    ([item('t1', remote_ip='192.0.2.2')], {}, 'tunnels[0].remote_ip: 192.0.2.2 is an address of this host'),
    ([item('t1', remote_ip='198.51.100.1', options={'nope': 1})], {}, 'tunnels[0].options.nope: '),
    ([item('t1', remote_ip='198.51.100.1')], {'bfd': {'nope': 1}}, 'bfd.nope: '),
    ([item('t1')], {}, 'tunnels[0].remote_ip: required'),
    ([item('t1', remote_ip='198.51.100.1')], {'type': None}, 'tunnels[0].type: required'),
])
def test_bad_list_names_the_item_field(items, kwargs, message):
    with pytest.raises(ValueError) as exc:
        mesh(*items, **kwargs)
    assert str(exc.value).startswith(message)


def test_port_on_another_bridge_is_refused():
    with pytest.raises(ValueError, match=r"^name: port 'other' already exists on bridge 'br1'"):
        plan(name='other', type='gre', remote_ip='198.51.100.1')


def test_unmarked_port_is_never_touched():
    for kwargs in ({'remote_ip': '198.51.100.1'}, {'state': 'absent'}):
        with pytest.raises(ValueError, match=r"^name: port 'manual' on bridge 'br0' is not managed"):
            plan(name='manual', **kwargs)


def test_missing_bridge():
    with pytest.raises(ValueError, match=r"^bridge: bridge 'gone' does not exist"):
        plan(bridge='gone', name='t1', type='gre', remote_ip='198.51.100.1')


def test_missing_bridge_in_check_mode_is_planned_as_empty():
    # A check run of a fresh host: ovs_bridge only planned the bridge, so it is not there yet.
    p = params(bridge='gone', name='t1', type='gre', remote_ip='198.51.100.1')
    commands, before, after = ovs_tunnel.plan(p, ovs_tunnel.want_tunnels(p), state_of(STATE), check_mode=True)
    assert commands[0][:3] == ['add-port', 'gone', 't1']
    assert before == {} and list(after) == ['t1']


def test_existing_type_sets_the_key_range():
    with pytest.raises(ValueError, match=r'^key: 16777216 is out of range 0\.\.16777215'):
        ovs_tunnel.plan(params(name='vx'), ovs_tunnel.want_tunnels(params(name='vx', key=2 ** 24)),
                        state_of({'br0': ({}, {'vx': (MARK, {'type': 'vxlan', 'options': {'remote_ip': '192.0.2.1'}})})}))


# --- the module: process count, check mode, diff ----------------------------------------

@pytest.fixture
def local_addresses():
    with mock.patch.object(ovs_tunnel, 'local_addresses', return_value=LOCAL) as patched:
        yield patched


MESH_ARGS = {'bridge': 'br0', 'type': 'gre', 'bfd': {'enable': True}, 'exclusive': True,
             'tunnels': [{'name': 'gre-a', 'remote_ip': '192.0.2.10'},
                         {'name': 'gre-b', 'remote_ip': '192.0.2.11', 'key': 7}]}


def test_module_converged_run_is_one_read(capsys, local_addresses):
    result, calls = run_module(ovs_tunnel.main, MESH_ARGS, [(0, ovs_json(STATE), '')], capsys)
    assert result['changed'] is False and result['commands'] == []
    assert [t['name'] for t in result['tunnels']] == ['gre-a', 'gre-b']
    assert len(calls) == 1


def test_module_apply_is_read_plus_one_transaction(capsys, local_addresses):
    tunnels = [{'name': 'gre-a', 'remote_ip': '192.0.2.20'}, {'name': 'gre-c', 'remote_ip': '192.0.2.12'}]
    args = dict(MESH_ARGS, _ansible_diff=True, tunnels=tunnels)
    result, calls = run_module(ovs_tunnel.main, args, [(0, ovs_json(STATE), ''), (0, '', '')], capsys)
    assert result['changed'] is True
    assert len(calls) == 2 and calls[1] == result['commands']
    assert calls[1] == [OVS, '--timeout=10',
                        '--', 'set', 'Interface', 'gre-a', 'options:remote_ip=192.0.2.20',
                        '--', 'add-port', 'br0', 'gre-c', 'external_ids:ovsmesh-managed=true',
                        '--', 'set', 'Interface', 'gre-c', 'type=gre', 'options:remote_ip=192.0.2.12',
                        'bfd:enable=true',
                        '--', 'del-port', 'br0', 'gre-b']
    assert sorted(result['diff']['before']) == ['gre-a', 'gre-b']
    assert sorted(result['diff']['after']) == ['gre-a', 'gre-c']


def test_module_check_mode_only_reads(capsys, local_addresses):
    args = dict(MESH_ARGS, _ansible_check_mode=True, tunnels=[])
    result, calls = run_module(ovs_tunnel.main, args, [(0, ovs_json(STATE), '')], capsys)
    assert result['changed'] is True and result['tunnels'] == []
    assert len(calls) == 1


@pytest.mark.parametrize('args', [
    {'bridge': 'br0', 'name': 'gre-x', 'type': 'vxlan', 'remote_ip': '198.51.100.1', 'key': 16777216},
    {'bridge': 'br0', 'name': 'gre-x', 'type': 'gre', 'remote_ip': '192.0.2.2'},
    {'bridge': 'br0', 'name': 'gre-x', 'type': 'gre', 'remote_ip': '198.51.100.1', 'options': {'bogus': 1}},
    {'bridge': 'br0', 'name': 'gre-x-is-far-too-long', 'type': 'gre', 'remote_ip': '198.51.100.1'},
])
def test_module_static_errors_run_nothing(capsys, local_addresses, args):
    result, calls = run_module(ovs_tunnel.main, args, [], capsys)
    assert result['failed']
    assert calls == []


def test_module_state_errors_never_write(capsys, local_addresses):
    args = {'bridge': 'br0', 'name': 'other', 'type': 'gre', 'remote_ip': '198.51.100.1'}
    result, calls = run_module(ovs_tunnel.main, args, [(0, ovs_json(STATE), '')], capsys)
    assert result['failed'] and result['msg'].startswith('name: ')
    assert len(calls) == 1


def test_module_name_and_tunnels_exclude_each_other(capsys, local_addresses):
    args = dict(MESH_ARGS, name='gre-a')
    result, calls = run_module(ovs_tunnel.main, args, [], capsys)
    assert result['failed'] and 'name' in result['msg'] and 'tunnels' in result['msg']
    assert calls == []


def test_module_masks_an_ipsec_psk(capsys, local_addresses):
    args = {'bridge': 'br0', 'name': 'gre-a', 'options': {'psk': 'sekrit-psk'}, '_ansible_diff': True}
    result, calls = run_module(ovs_tunnel.main, args, [(0, ovs_json(STATE), ''), (0, '', '')], capsys)
    assert 'options:psk=sekrit-psk' in calls[1]  # OVS gets the real key
    assert 'sekrit-psk' not in repr(result)
