# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import http.server
import json
import os
import socketserver
import threading

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _container
from ansible_collections.ovsmesh.overlay.plugins.modules import container_attach as ca
from ansible_collections.ovsmesh.overlay.tests.unit.plugins.module_utils.test_attach import params

CID = '9c523a14cfdaad5ed6dc85a9fd6489443a0e6e9cc187739e9e360894436243d4'


# --- the persistence record -------------------------------------------------------------------

PATH = '/etc/ovsmesh/attachments/web@eth1.json'


def record_plan(current, **kwargs):
    p = params(**kwargs)
    return ca.plan_record(p, ca.validate_params(p), current, PATH)


def test_record_written_when_persisting_and_kept_when_equal():
    action, text = record_plan(None, persist=True, vlan=100)
    assert action == 'write persistence record ' + PATH and json.loads(text)['attachment']['vlan'] == 100
    assert record_plan(text, persist=True, vlan=100) == (None, text)
    action, changed = record_plan(text, persist=True, vlan=200)
    assert action.startswith('write') and changed != text


def test_record_removed_without_persist_or_on_detach():
    _action, text = record_plan(None, persist=True)
    assert record_plan(text) == ('remove persistence record ' + PATH, None)
    assert record_plan(text, persist=True, state='absent', bridge=None)[0].startswith('remove')
    assert record_plan(None) == (None, None)


class _Module:
    def __init__(self, tmpdir):
        self.tmpdir, self.moves = tmpdir, []

    def atomic_move(self, src, dest):
        self.moves.append((src, dest))
        os.rename(src, dest)


def test_write_record_is_atomic_and_readable(tmp_path):
    module = _Module(str(tmp_path))
    path = str(tmp_path / 'etc' / 'attachments' / 'web@eth1.json')
    ca.write_record(module, path, '{"x": 1}\n')
    assert ca.read_record(path) == '{"x": 1}\n'
    assert oct(os.stat(path).st_mode & 0o777) == '0o644'
    assert len(module.moves) == 1 and module.moves[0][1] == path
    assert ca.read_record(str(tmp_path / 'none.json')) is None


# --- _container: pure parts and the Docker socket ---------------------------------------------

def test_docker_socket_path():
    assert _container.docker_socket_path('unix:///run/docker.sock') == '/run/docker.sock'
    for bad in ('tcp://127.0.0.1:2375', 'unix://', '/var/run/docker.sock'):
        with pytest.raises(ValueError, match='^docker_host: '):
            _container.docker_socket_path(bad)


INSPECT = {'Id': CID, 'Name': '/web', 'State': {'Running': True, 'Paused': False, 'Pid': 4242}}


def test_container_target_and_aliases():
    target = _container.container_target(INSPECT)
    assert target == {'id': CID, 'name': 'web', 'running': True, 'pid': 4242}
    assert _container.container_aliases('web', target) == {'web', CID, CID[:12]}
    paused = dict(INSPECT, State={'Running': True, 'Paused': True, 'Pid': 4242})
    assert not _container.container_target(paused)['running']
    stopped = dict(INSPECT, State={'Running': False, 'Pid': 0})
    assert not _container.container_target(stopped)['running']


EVENTS = [
    {'Type': 'container', 'Action': 'start', 'Actor': {'ID': CID, 'Attributes': {'name': 'web', 'image': 'x'}}},
    {'status': 'die', 'id': CID, 'from': 'x'},  # the old API's fields only
]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        self.server.paths.append(self.path)
        if self.path.startswith('/events?'):
            # As dockerd streams: chunked, one JSON document and a newline per event, then the close.
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for event in EVENTS:
                data = json.dumps(event).encode() + b'\n'
                half = len(data) // 2  # an event may span chunks
                for piece in (data[:half], data[half:]):
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b'0\r\n\r\n')
            self.close_connection = True
            return
        if self.path == '/containers/web/json':
            body, status = json.dumps(INSPECT).encode(), 200
        elif self.path.startswith('/containers/boom'):
            body, status = b'{"message": "server error"}', 500
        else:
            body, status = b'{"message": "No such container"}', 404
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

    def address_string(self):
        return 'unix'


@pytest.fixture
def docker_socket(tmp_path):
    """A real HTTP server on a unix socket, standing in for dockerd (the boundary)."""
    path = str(tmp_path / 'docker.sock')
    server = socketserver.UnixStreamServer(path, _Handler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path, server
    server.shutdown()
    server.server_close()


def test_inspect_container_over_unix_socket(docker_socket):
    path, server = docker_socket
    assert _container.inspect_container(path, 'web')['Id'] == CID
    assert _container.inspect_container(path, 'nope') is None
    with pytest.raises(_container.TargetError, match='answered 500'):
        _container.inspect_container(path, 'boom')
    _container.inspect_container(path, 'a/b')
    assert server.paths[-1] == '/containers/a%2Fb/json'  # a name cannot escape the API path


def test_docker_events_streams_until_the_daemon_closes(docker_socket):
    path, server = docker_socket
    stream = _container.docker_events(path, {'type': ['container']}, since=1700000000.5)
    assert [_container.event_container(e) for e in stream] == [('start', CID, 'web'), ('die', CID, None)]
    assert server.paths[-1] == ('/events?filters=%7B%22type%22%3A+%5B%22container%22%5D%7D'
                                '&since=1700000000.500000')


def test_docker_events_daemon_down(tmp_path):
    with pytest.raises(_container.TargetError, match='cannot reach the Docker daemon'):
        _container.docker_events(str(tmp_path / 'missing.sock'), {})


def test_inspect_container_daemon_down(tmp_path):
    with pytest.raises(_container.TargetError, match='cannot reach the Docker daemon'):
        _container.inspect_container(str(tmp_path / 'missing.sock'), 'web')


def test_find_dhcp_client_inside_root(tmp_path):
    assert _container.find_dhcp_client(str(tmp_path)) is None
    (tmp_path / 'sbin').mkdir()
    (tmp_path / 'sbin' / 'dhclient').write_text('')
    assert _container.find_dhcp_client(str(tmp_path)) == ('dhclient', '/sbin/dhclient')
    (tmp_path / 'bin').mkdir()
    # busybox applet links point at a path inside the container: lexists, not exists.
    os.symlink('/bin/busybox-that-only-exists-inside', str(tmp_path / 'bin' / 'udhcpc'))
    assert _container.find_dhcp_client(str(tmp_path)) == ('udhcpc', '/bin/udhcpc')


def test_netns_name_checked():
    for bad in ('../etc', 'a/b', '', '.'):
        with pytest.raises(_container.TargetError, match='^netns: '):
            _container.netns_path_for_name(bad)
    with pytest.raises(_container.TargetError, match='does not exist'):
        _container.netns_path_for_name('tstca-surely-missing')


def test_pid_must_exist():
    with pytest.raises(_container.TargetError, match='^pid: no process'):
        _container.netns_path_for_pid(2 ** 22 + 7)
    assert _container.netns_path_for_pid(os.getpid()) == '/proc/%d/ns/net' % os.getpid()


def test_started_at_parses_rfc3339_nano():
    info = {'State': {'StartedAt': '2026-01-02T03:04:05.123456789Z'}}
    assert abs(_container.started_at(info) - 1767323045.123456789) < 1e-6
    assert _container.started_at({'State': {'StartedAt': '2026-01-02T03:04:05Z'}}) == 1767323045.0
    assert _container.started_at({'State': {'StartedAt': '0001-01-01T00:00:00Z'}}) is None  # never started
    assert _container.started_at({}) is None and _container.started_at(None) is None
