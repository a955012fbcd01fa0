# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _ovs
from ansible_collections.ovsmesh.overlay.plugins.modules import ovs_bridge
from ansible_collections.ovsmesh.overlay.tests.unit.plugins.module_utils.test_ovs import (
    OVS, ovs_json, run_module, state_of,
)


def params(**kwargs):
    base = dict((name, None) for name in ('datapath_type', 'stp', 'priority', 'hello_time', 'forward_delay',
                                          'max_age', 'mtu', 'fail_mode', 'other_config', 'external_ids',
                                          'protocols'))
    base.update(name='br0', state='present', timeout=10)
    base.update(kwargs)
    return base


EXISTING = {'br0': ({'datapath_type': 'netdev', 'rstp_enable': True,
                     'other_config': {'rstp-priority': '4096', 'mac-aging-time': '300'},
                     'external_ids': {'owner': 'someone'}}, {})}


# --- planning -----------------------------------------------------------------------------

def test_create_bridge_one_plan():
    commands, before, after = ovs_bridge.plan(
        params(datapath_type='netdev', stp='rstp', priority=4096, forward_delay=4, mtu=1462,
               fail_mode='standalone', protocols=['OpenFlow13'], external_ids={'role': 'overlay'}),
        state_of({}))
    assert commands == [
        ['add-br', 'br0'],
        ['set', 'Bridge', 'br0', 'datapath_type=netdev', 'stp_enable=false', 'rstp_enable=true',
         'fail_mode=standalone', 'protocols=[OpenFlow13]',
         'other_config:rstp-forward-delay=4', 'other_config:rstp-priority=4096', 'external_ids:role=overlay'],
        ['set', 'Interface', 'br0', 'mtu_request=1462'],
    ]
    assert before == {'name': 'br0', 'state': 'absent'}
    assert after['stp'] == 'rstp' and after['mtu'] == 1462
    assert after['other_config'] == {'rstp-priority': '4096', 'rstp-forward-delay': '4'}


def test_create_plain_bridge_is_just_add_br():
    assert ovs_bridge.plan(params(), state_of({}))[0] == [['add-br', 'br0']]


def test_existing_bridge_converges_settings_per_key():
    commands, before, after = ovs_bridge.plan(
        params(stp='stp', priority=100, hello_time=1, other_config={'mac-aging-time': None},
               external_ids={'role': 'overlay'}),
        state_of(EXISTING))
    assert commands == [
        ['set', 'Bridge', 'br0', 'stp_enable=true', 'rstp_enable=false',
         'other_config:stp-hello-time=1', 'other_config:stp-priority=100', 'external_ids:role=overlay'],
        ['remove', 'Bridge', 'br0', 'other_config', 'mac-aging-time'],
    ]
    assert before['stp'] == 'rstp' and after['stp'] == 'stp'
    # keys the task does not name are left alone
    assert after['other_config'] == {'rstp-priority': '4096', 'stp-hello-time': '1', 'stp-priority': '100'}
    assert after['external_ids'] == {'owner': 'someone', 'role': 'overlay'}


def test_timers_follow_the_spanning_tree_already_on_the_bridge():
    commands = ovs_bridge.plan(params(priority=8192, max_age=10), state_of(EXISTING))[0]
    assert commands == [['set', 'Bridge', 'br0', 'other_config:rstp-max-age=10', 'other_config:rstp-priority=8192']]


def test_converged_bridge_is_a_noop():
    commands, before, after = ovs_bridge.plan(
        params(datapath_type='netdev', stp='rstp', priority=4096, external_ids={'owner': 'someone'}),
        state_of(EXISTING))
    assert commands == []
    assert before == after


def test_mtu_and_protocols_update():
    state = state_of({'br0': ({'protocols': ['OpenFlow10', 'OpenFlow13']}, {})})
    commands = ovs_bridge.plan(params(mtu=9000, protocols=[]), state)[0]
    assert commands == [['set', 'Bridge', 'br0', 'protocols=[]'], ['set', 'Interface', 'br0', 'mtu_request=9000']]


def test_absent():
    assert ovs_bridge.plan(params(state='absent'), state_of(EXISTING))[0] == [['del-br', 'br0']]
    assert ovs_bridge.plan(params(state='absent'), state_of({}))[0] == []


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, field', [
    ({'name': 'br0-is-far-too-long'}, 'name'),
    ({'name': '-br0'}, 'name'),
    ({'name': 'br/0'}, 'name'),
    ({'mtu': 67}, 'mtu'),
    ({'mtu': 65536}, 'mtu'),
    ({'stp': 'rstp', 'hello_time': 2}, 'hello_time'),
    ({'stp': 'rstp', 'priority': 100}, 'priority'),
    ({'stp': 'rstp', 'priority': 65536}, 'priority'),
    ({'stp': 'stp', 'priority': 65536}, 'priority'),
    ({'stp': 'stp', 'hello_time': 11}, 'hello_time'),
    ({'stp': 'stp', 'max_age': 5}, 'max_age'),
    ({'stp': 'rstp', 'forward_delay': 31}, 'forward_delay'),
    ({'stp': 'off', 'priority': 4096}, 'priority'),
    ({'priority': 4096}, 'priority'),  # new bridge, no spanning tree
    ({'stp': 'stp', 'priority': 1, 'other_config': {'stp-priority': '2'}}, 'other_config'),
    ({'other_config': {'': 'x'}}, 'other_config'),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError) as exc:
        ovs_bridge.plan(params(**kwargs), state_of({}))
    assert str(exc.value).startswith(field + ':')


def test_name_taken_by_a_port_of_another_bridge():
    state = state_of({'br1': ({}, {'br0': ({}, {'type': 'gre'})})})
    with pytest.raises(ValueError, match=r"^name: 'br0' already exists as a port on bridge 'br1'"):
        ovs_bridge.plan(params(), state)


# --- the module: process count, check mode, diff ----------------------------------------

def test_module_converged_run_is_one_read(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0', 'stp': 'rstp', 'priority': 4096},
                               [(0, ovs_json(EXISTING), '')], capsys)
    assert result['changed'] is False and result['commands'] == []
    assert calls == [_ovs.read_argv(OVS, 10)]


def test_module_apply_is_read_plus_one_transaction(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0', 'stp': 'rstp', 'mtu': 1462, '_ansible_diff': True},
                               [(0, ovs_json({}), ''), (0, '', '')], capsys)
    assert result['changed'] is True
    assert len(calls) == 2 and calls[1] == result['commands']
    assert calls[1] == [OVS, '--timeout=10', '--', 'add-br', 'br0',
                        '--', 'set', 'Bridge', 'br0', 'stp_enable=false', 'rstp_enable=true',
                        '--', 'set', 'Interface', 'br0', 'mtu_request=1462']
    assert result['diff']['before'] == {'name': 'br0', 'state': 'absent'}
    assert result['diff']['after']['mtu'] == 1462


def test_module_check_mode_only_reads(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0', 'state': 'absent', '_ansible_check_mode': True},
                               [(0, ovs_json(EXISTING), '')], capsys)
    assert result['changed'] is True
    assert result['commands'][-2:] == ['del-br', 'br0']
    assert len(calls) == 1


def test_module_bad_name_runs_nothing(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0-is-far-too-long'}, [], capsys)
    assert result['failed'] and result['msg'].startswith('name:')
    assert calls == []


def test_module_bad_timer_fails_after_read_without_write(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0', 'hello_time': 2}, [(0, ovs_json(EXISTING), '')], capsys)
    assert result['failed'] and result['msg'].startswith('hello_time:')
    assert len(calls) == 1


def test_module_reports_a_refused_transaction(capsys):
    result, calls = run_module(ovs_bridge.main, {'name': 'br0'}, [(0, ovs_json({}), ''), (1, '', 'ovs-vsctl: boom\n')], capsys)
    assert result['failed'] and 'boom' in result['msg']
    assert len(calls) == 2
