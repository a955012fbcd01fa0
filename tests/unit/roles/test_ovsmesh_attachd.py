# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ovsmesh-attachd's event handling, with the attach engine and Docker stubbed at the boundary."""

from __future__ import annotations

import importlib.util
import os

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _attach

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, '..', '..', '..', 'roles', 'container_network', 'files', 'ovsmesh_attachd.py')
CID = '9c523a14cfdaad5ed6dc85a9fd6489443a0e6e9cc187739e9e360894436243d4'


def load_program():
    spec = importlib.util.spec_from_file_location('ovsmesh_attachd', PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_record(directory, container, **kwargs):
    params = dict(container=container, netns=None, pid=None, docker_host='unix:///var/run/docker.sock',
                  mode='veth', bridge='br0', parent=None, macvlan_mode='bridge', ifname='eth1',
                  address=['10.0.0.2/24'], dhcp=False, gateway=None, default_route=False, mac=None,
                  mtu=None, vlan=None, state='present', persist=True)
    params.update(kwargs)
    path = directory / _attach.record_name(container, params['ifname'])
    path.write_text(_attach.record_text(params, _attach.validate_params(params)))
    return path


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    """A Daemon whose Docker answers from ``docker`` and whose engine records its calls."""
    prog = load_program()
    state = {'docker': {}, 'attach': [], 'dead': []}

    def inspect(socket_path, container):
        return state['docker'].get(container)

    def attach(runner, params, check_mode=False, diff=False):
        state['attach'].append((params['container'], params['ifname'], params['state']))
        return {'changed': True, 'actions': ['did %s' % params['state']]}

    def remove_dead_ports(runner, aliases):
        state['dead'].append(aliases)
        return []

    monkeypatch.setattr(prog, 'inspect_container', inspect)
    monkeypatch.setattr(prog, 'attach', attach)
    monkeypatch.setattr(prog, 'remove_dead_ports', remove_dead_ports)
    d = prog.Daemon(str(tmp_path), '/var/run/docker.sock', 60)
    d.state, d.prog = state, prog
    return d


def event(action, name, cid=CID):
    return {'Type': 'container', 'Action': action, 'Actor': {'ID': cid, 'Attributes': {'name': name}}}


def running(pid=42):
    return {'Id': CID, 'Name': '/web', 'State': {'Running': True, 'Pid': pid, 'StartedAt': '2026-01-02T03:04:05Z'}}


def test_start_applies_the_matching_records_only(daemon, tmp_path):
    write_record(tmp_path, 'web')
    write_record(tmp_path, 'web', ifname='eth2')
    write_record(tmp_path, 'db')
    daemon.state['docker']['web'] = running()
    daemon.on_event(event('start', 'web'))
    assert sorted(daemon.state['attach']) == [('web', 'eth1', 'present'), ('web', 'eth2', 'present')]
    assert daemon.state['dead'] == []


def test_die_of_a_stopped_container_detaches(daemon, tmp_path):
    write_record(tmp_path, 'web')
    daemon.state['docker']['web'] = dict(running(), State={'Running': False, 'Pid': 0})
    daemon.on_event(event('die', 'web'))
    assert daemon.state['attach'] == [('web', 'eth1', 'absent')]


def test_die_seen_after_a_quick_restart_attaches(daemon, tmp_path):
    # docker restart: by the time `die` is handled the container may run again.
    write_record(tmp_path, 'web')
    daemon.state['docker']['web'] = running()
    daemon.on_event(event('die', 'web'))
    assert daemon.state['attach'] == [('web', 'eth1', 'present')]


def test_destroy_cleans_dead_ports_and_drops_id_records_only(daemon, tmp_path):
    by_name = write_record(tmp_path, 'web')
    by_id = write_record(tmp_path, CID[:12], ifname='eth2')
    daemon.on_event(event('destroy', 'web'))
    assert sorted(daemon.state['attach']) == [(CID[:12], 'eth2', 'absent'), ('web', 'eth1', 'absent')]
    assert by_name.exists() and not by_id.exists()
    assert daemon.state['dead'] == [{CID, CID[:12], 'web'}]


def test_destroy_of_an_unrecorded_container_still_cleans_its_ports(daemon):
    daemon.on_event(event('destroy', 'other', cid='ab' * 32))
    assert daemon.state['attach'] == [] and daemon.state['dead'] == [{'ab' * 32, 'ab' * 6, 'other'}]


def test_reconcile_covers_every_record_and_skips_bad_ones(daemon, tmp_path):
    write_record(tmp_path, 'web')
    write_record(tmp_path, 'db')
    (tmp_path / 'broken@eth1.json').write_text('{')
    daemon.state['docker']['web'] = running()
    daemon.reconcile('startup:')
    assert sorted(daemon.state['attach']) == [('db', 'eth1', 'absent'), ('web', 'eth1', 'present')]


def test_engine_failure_is_logged_not_raised(daemon, tmp_path, monkeypatch, caplog):
    def failing(runner, params, check_mode=False, diff=False):
        raise _attach.AttachError('bridge: br0 is neither ...', {'actions': ['create veth x <-> eth1']})

    monkeypatch.setattr(daemon.prog, 'attach', failing)
    write_record(tmp_path, 'web')
    daemon.state['docker']['web'] = running()
    daemon.on_event(event('start', 'web'))
    assert 'web@eth1: bridge: br0 is neither ... (done: create veth x <-> eth1)' in caplog.text


def test_runner_runs_argv_with_environment():
    runner = load_program().Runner()
    rc, out, err = runner.run_command(['sh', '-c', 'echo "$LC_ALL"'], environ_update={'LC_ALL': 'C'})
    assert (rc, out, err) == (0, 'C\n', '')
    assert runner.get_bin_path('sh') and runner.get_bin_path('surely-not-a-command-xyz') is None
