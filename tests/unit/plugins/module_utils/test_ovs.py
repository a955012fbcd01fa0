# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _ovs

OVS = '/usr/bin/ovs-vsctl'


# What `ovs-vsctl --format=json -- list Bridge -- list Port -- list Interface` printed for a
# bridge with one GRE port (trimmed to the columns read_argv asks for).
OVS_JSON = '\n'.join(json.dumps(doc) for doc in (
    {'headings': list(_ovs.COLUMNS['Bridge']), 'data': [[
        ['uuid', 'b1'], 'br0', ['set', [['uuid', 'p1'], ['uuid', 'p2']]], 'netdev', False, True,
        ['map', [['rstp-priority', '4096']]], ['map', []], ['set', []], 'OpenFlow13']]},
    {'headings': list(_ovs.COLUMNS['Port']), 'data': [
        [['uuid', 'p1'], 'br0', ['uuid', 'i1'], ['map', []]],
        [['uuid', 'p2'], 'gre1', ['uuid', 'i2'], ['map', [['ovsmesh-managed', 'true']]]]]},
    {'headings': list(_ovs.COLUMNS['Interface']), 'data': [
        [['uuid', 'i1'], 'br0', 'internal', ['map', []], ['map', []], 1400],
        [['uuid', 'i2'], 'gre1', 'gre', ['map', [['key', '5'], ['remote_ip', '10.9.9.9']]],
         ['map', [['enable', 'true']]], ['set', []]]]},
)) + '\n'


# --- fakes, also used by tests/unit/plugins/modules/test_ovs_{bridge,tunnel}.py -----------------

def ovs_json(bridges):
    """Fake ``ovs-vsctl --format=json list`` output.

    ``bridges``: {name: (bridge columns, {port: (port external_ids, interface columns)})};
    every bridge gets its internal port.
    """
    rows = {'Bridge': [], 'Port': [], 'Interface': []}
    for name, (columns, ports) in bridges.items():
        ports = dict({name: ({}, {'type': 'internal'})}, **ports)
        for port, (external_ids, iface) in ports.items():
            rows['Interface'].append(dict({'_uuid': 'i-' + port, 'name': port, 'type': '', 'options': {},
                                           'bfd': {}, 'mtu_request': []}, **iface))
            rows['Port'].append({'_uuid': 'p-' + port, 'name': port, 'interfaces': 'i-' + port,
                                 'external_ids': external_ids})
        rows['Bridge'].append(dict({'_uuid': 'b-' + name, 'name': name, 'ports': ['p-' + p for p in ports],
                                    'datapath_type': '', 'stp_enable': False, 'rstp_enable': False,
                                    'other_config': {}, 'external_ids': {}, 'fail_mode': [], 'protocols': []},
                                   **columns))

    def encode(column, value):
        if column in ('_uuid', 'ports', 'interfaces'):
            return ['uuid', value] if isinstance(value, str) else ['set', [['uuid', u] for u in value]]
        if isinstance(value, dict):
            return ['map', sorted(value.items())]
        return ['set', value] if isinstance(value, list) else value

    return ''.join(json.dumps({'headings': list(_ovs.COLUMNS[t]),
                               'data': [[encode(c, r[c]) for c in _ovs.COLUMNS[t]] for r in rows[t]]}) + '\n'
                   for t in ('Bridge', 'Port', 'Interface'))


def state_of(bridges):
    return _ovs.build_state(*_ovs.parse_tables(ovs_json(bridges)))


def run_module(main, args, outputs, capsys):
    """Run a module's ``main`` with run_command answering ``outputs`` in turn.

    Returns (result dict, list of the argv run_command got).
    """
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(argv)
        assert kwargs.get('environ_update') == _ovs.ENVIRON
        return outputs[len(calls) - 1]

    with patch_module_args(args), \
            mock.patch.object(AnsibleModule, 'run_command', run_command), \
            mock.patch.object(AnsibleModule, 'get_bin_path', return_value=OVS):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out), calls


# --- tests -------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['br0', 'gre-node2', 'a.b_c', 'x' * 15, 'vx.1'])
def test_validate_name_accepts(name):
    assert _ovs.validate_name(name, 'name') == name


@pytest.mark.parametrize('name, fragment', [
    ('x' * 16, '16 characters'),
    ('-br', 'not a valid'),
    ('a/b', 'not a valid'),
    ('a b', 'not a valid'),
    ('..', 'not a valid'),
    ('', 'required'),
])
def test_validate_name_rejects_and_names_field(name, fragment):
    with pytest.raises(ValueError, match=r'^tunnels\[0\]\.name: ') as exc:
        _ovs.validate_name(name, 'tunnels[0].name')
    assert fragment in str(exc.value)


def test_validate_int_range_and_type():
    assert _ovs.validate_int('42', 'key', 0, 100) == 42
    with pytest.raises(ValueError, match='^key: 101 is out of range 0..100'):
        _ovs.validate_int(101, 'key', 0, 100)
    with pytest.raises(ValueError, match='^key: expected an integer'):
        _ovs.validate_int(True, 'key', 0, 100)


@pytest.mark.parametrize('value, expected', [
    ('192.0.2.1', '192.0.2.1'),
    ('2001:DB8::0:1', '2001:db8::1'),
    ('flow', 'flow'),
])
def test_validate_ip_normalises(value, expected):
    assert _ovs.validate_ip(value, 'remote_ip') == expected


@pytest.mark.parametrize('value', ['host.example', '10.0.0.256', '224.0.0.1', '0.0.0.0', 'fe80::1%eth0', ''])
def test_validate_ip_rejects(value):
    with pytest.raises(ValueError, match='^remote_ip: '):
        _ovs.validate_ip(value, 'remote_ip')


def test_validate_ip_flow_only_when_allowed():
    with pytest.raises(ValueError, match='^local_ip: '):
        _ovs.validate_ip('flow', 'local_ip', allow_flow=False)


def test_quote_bare_and_quoted():
    assert _ovs.quote('OpenFlow13') == 'OpenFlow13'
    assert _ovs.quote(True) == 'true'
    assert _ovs.quote(100) == '100'
    assert _ovs.quote('fd00::1') == '"fd00::1"'
    assert _ovs.quote('a b,c="d"') == '"a b,c=\\"d\\""'


def test_map_changes_sets_removes_and_keeps_unnamed_keys():
    current = {'keep': '1', 'change': 'old', 'drop': 'x', 'same': 'true'}
    want = {'change': 'new', 'drop': None, 'absent': None, 'same': True, 'add': 'fd00::1'}
    set_args, removes, result = _ovs.map_changes('other_config', current, want)
    assert set_args == ['other_config:add="fd00::1"', 'other_config:change=new']
    assert removes == ['drop']
    assert result == {'keep': '1', 'change': 'new', 'same': 'true', 'add': 'fd00::1'}


def test_map_changes_noop():
    assert _ovs.map_changes('bfd', {'enable': 'true'}, {'enable': True}) == ([], [], {'enable': 'true'})


def test_decode_and_parse_tables():
    bridges, ports, interfaces = _ovs.parse_tables(OVS_JSON)
    assert bridges[0]['ports'] == ['p1', 'p2']
    assert bridges[0]['other_config'] == {'rstp-priority': '4096'}
    assert bridges[0]['fail_mode'] == []
    assert ports[1]['interfaces'] == 'i2'  # a one-element set comes as the bare element
    assert interfaces[1]['options'] == {'key': '5', 'remote_ip': '10.9.9.9'}


def test_build_state_joins_tables():
    state = _ovs.build_state(*_ovs.parse_tables(OVS_JSON))
    br0 = state['bridges']['br0']
    assert br0['port_names'] == ['br0', 'gre1']
    assert br0['fail_mode'] is None
    assert br0['protocols'] == ['OpenFlow13']
    assert state['ports']['gre1']['bridge'] == 'br0'
    assert state['ports']['gre1']['interface_names'] == ['gre1']
    assert state['interfaces']['br0']['mtu_request'] == 1400
    assert state['interfaces']['gre1']['mtu_request'] is None


def test_read_argv_is_one_process_for_three_tables():
    argv = _ovs.read_argv('/usr/bin/ovs-vsctl', 7)
    assert argv[:3] == ['/usr/bin/ovs-vsctl', '--timeout=7', '--format=json']
    assert [argv[i + 1] for i, word in enumerate(argv) if word == 'list'] == ['Bridge', 'Port', 'Interface']


def test_transaction_argv_separates_commands():
    argv = _ovs.transaction_argv('ovs-vsctl', [['add-br', 'br0'], ['set', 'Bridge', 'br0', 'rstp_enable=true']], 3)
    assert argv == ['ovs-vsctl', '--timeout=3', '--', 'add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'rstp_enable=true']


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 4
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
        |-- 198.51.100.7
           /32 host LOCAL
"""
IF_INET6 = """00000000000000000000000000000001 01 80 10 80       lo
fd000000000000000000000000000002 04 40 00 82     eth0
"""


def test_parse_local_addresses():
    assert _ovs.parse_fib_trie(FIB_TRIE) == {'192.0.2.2', '198.51.100.7'}
    assert _ovs.parse_if_inet6(IF_INET6) == {'::1', 'fd00::2'}


def test_is_self_address():
    addresses = {'192.0.2.2', 'fd00::2'}
    assert _ovs.is_self_address('192.0.2.2', addresses)
    assert _ovs.is_self_address('fd00::2', addresses)
    assert _ovs.is_self_address('127.0.0.5', addresses)  # loopback is always this host
    assert not _ovs.is_self_address('192.0.2.3', addresses)
    assert not _ovs.is_self_address('flow', addresses)


def test_find_and_read_without_ovs_in_check_mode_plans_against_an_empty_database():
    module = mock.Mock(check_mode=True)
    module.get_bin_path.return_value = None
    ovs_vsctl, state = _ovs.find_and_read(module)
    assert ovs_vsctl == 'ovs-vsctl'
    assert state == {'bridges': {}, 'ports': {}, 'interfaces': {}}
    module.get_bin_path.assert_called_once_with('ovs-vsctl', required=False)
    module.run_command.assert_not_called()


def test_find_and_read_requires_ovs_outside_check_mode():
    module = mock.Mock(check_mode=False)
    module.get_bin_path.return_value = OVS
    module.run_command.return_value = (0, ovs_json({}), '')
    ovs_vsctl, state = _ovs.find_and_read(module)
    assert ovs_vsctl == OVS and state['bridges'] == {}
    module.get_bin_path.assert_called_once_with('ovs-vsctl', required=True)
