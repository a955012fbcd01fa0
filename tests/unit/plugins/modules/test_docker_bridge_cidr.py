# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.ovsmesh.overlay.plugins.modules import docker_bridge_cidr


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def run(monkeypatch, args):
    """Run the module's main() with args; return (outcome, result), warnings in result['warnings']."""
    warnings = []

    def exit_json(self, **kwargs):
        raise ExitJson(dict(kwargs, warnings=warnings))

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning: warnings.append(warning))
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    with pytest.raises((ExitJson, FailJson)) as info:
        docker_bridge_cidr.main()
    return info.type, info.value.args[0]


def test_seed_002(monkeypatch):
    outcome, result = run(monkeypatch, {
        'supernet': '172.17.0.0/16', 'host_prefix': 18, 'bridge_block': '172.17.42.0/24', 'mtu': 1462,
        'hosts': [{'name': 'host3'}, {'name': 'host1'}, {'name': 'host2'}],
    })
    assert outcome is ExitJson
    assert result['changed'] is False
    assert result['allocations']['host1'] == {
        'address': '172.17.42.1/16', 'gateway': '172.17.42.1', 'fixed_cidr': '172.17.64.0/18', 'mtu': 1462,
        'kept_address': False, 'kept_fixed_cidr': False}
    assert result['allocations']['host3']['fixed_cidr'] == '172.17.192.0/18'
    assert result['bridge_block'] == '172.17.42.0/24' and result['free_ranges'] == 0


def test_check_mode_gives_the_same_plan(monkeypatch):
    args = {'hosts': [{'name': 'a', 'current_fixed_cidr': '172.17.0.0/16'}]}
    outcome, result = run(monkeypatch, dict(args, _ansible_check_mode=True))
    assert outcome is ExitJson and result['changed'] is False
    assert result['allocations']['a']['fixed_cidr'] == '172.17.1.0/24'
    assert len(result['warnings']) == 1 and 'is replaced by 172.17.1.0/24' in result['warnings'][0]


def test_error_names_the_field(monkeypatch):
    outcome, result = run(monkeypatch, {'bridge_block': '10.0.0.0/24', 'hosts': [{'name': 'a'}]})
    assert outcome is FailJson
    assert result['msg'].startswith('bridge_block: 10.0.0.0/24 is outside supernet 172.17.0.0/16')


def test_unknown_host_key_is_refused(monkeypatch):
    outcome, result = run(monkeypatch, {'hosts': [{'name': 'a', 'fixed_cidr': '172.17.1.0/24'}]})
    assert outcome is FailJson and 'fixed_cidr' in result['msg']


def test_daemon_settings_per_host(monkeypatch):
    outcome, result = run(monkeypatch, {
        'host_prefix': 18, 'bridge_block': '172.17.42.0/24', 'mtu': 1462,
        'hosts': [{'name': 'host1', 'daemon_json': {'storage-driver': 'vfs'},
                   'command_line': '/usr/sbin/dockerd -H fd:// $DOCKER_OPTS'},
                  {'name': 'host2'}],
        'daemon': {'config': 'daemon_json'},
    })
    assert outcome is ExitJson
    assert result['allocations']['host1']['daemon'] == {
        'options': {'bridge': 'docker0', 'fixed-cidr': '172.17.64.0/18', 'mtu': 1462},
        'daemon_json': {'storage-driver': 'vfs', 'bridge': 'docker0', 'fixed-cidr': '172.17.64.0/18', 'mtu': 1462}}
    assert result['allocations']['host2']['daemon']['daemon_json']['fixed-cidr'] == '172.17.128.0/18'


def test_daemon_errors_name_every_host(monkeypatch):
    outcome, result = run(monkeypatch, {
        'hosts': [{'name': 'host1', 'daemon_json': {'bip': '172.17.0.1/16'}},
                  {'name': 'host2', 'daemon_json': {'hosts': ['unix:///run/docker.sock']}},
                  {'name': 'host3', 'command_line': 'dockerd -H fd://'}],
        'daemon': {'tcp': True, 'tls_cacert': '/ca.pem', 'tls_cert': '/cert.pem', 'tls_key': '/key.pem'},
    })
    assert outcome is FailJson
    assert result['msg'].startswith('hosts[0] (host host1): bip and bridge are both set in the dockerd settings')
    assert '; hosts[1] (host host2): hosts given both in daemon.json and as a dockerd flag' in result['msg']
    assert 'host3' not in result['msg']
