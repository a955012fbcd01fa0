# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Find the network namespace of a Docker container, a named namespace or a process.

Private to this collection (the leading underscore): no stability promise.

The Docker Engine API is asked over its unix socket with the standard library's http.client
(GET /containers/<name-or-id>/json, and the streamed GET /events for ovsmesh-attachd), so the
host needs no Docker SDK and no docker CLI.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import socket
from urllib.parse import quote, urlencode

DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'
DOCKER_TIMEOUT = 30
NETNS_DIR = '/var/run/netns'
# What `ip netns add` accepts in practice: a file name in /var/run/netns.
_NETNS_RE = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_.-]*$')
# DHCP clients tried inside the target, in pipework's order of preference (minus dhcpcd).
DHCP_CLIENTS = ('udhcpc', 'dhclient')
_STARTED_RE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$')
BIN_DIRS = ('/sbin', '/usr/sbin', '/bin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin')


class TargetError(Exception):
    """The container/namespace/process cannot be used; the message says why."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTPConnection over an AF_UNIX stream socket (the Docker daemon's default endpoint)."""

    def __init__(self, path, timeout):
        super().__init__('localhost', timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def docker_socket_path(docker_host):
    """Return the socket path of a ``unix://`` Docker host URL; other schemes are refused."""
    if not docker_host.startswith('unix://') or len(docker_host) <= len('unix://'):
        raise ValueError('docker_host: %r is not supported; use unix:///path/to/docker.sock '
                         '(the module must run on the Docker host)' % docker_host)
    return docker_host[len('unix://'):]


def inspect_container(socket_path, container, timeout=DOCKER_TIMEOUT):
    """Return the Engine API's JSON for ``container`` (name or id), or None if Docker does not know it."""
    conn = _UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request('GET', '/containers/%s/json' % quote(container, safe=''))
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        raise TargetError('cannot reach the Docker daemon at unix://%s: %s' % (socket_path, exc))
    finally:
        conn.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise TargetError('Docker daemon answered %d for container %r: %s'
                          % (response.status, container, body.decode('utf-8', 'replace').strip()))
    return json.loads(body.decode('utf-8'))


def docker_events(socket_path, filters, since=None, timeout=None):
    """Subscribe to the Docker daemon's event stream; return an iterator of event dicts.

    The request is made here, so a daemon that does not answer raises TargetError now, and every
    event from the moment of return on (or from ``since``, a Unix time, which the daemon replays
    from its recent events) is delivered. ``timeout``: seconds without an event after which the
    iterator raises ``TimeoutError`` (None waits for ever). The iterator ends when the daemon
    closes the stream (it stops or restarts).
    """
    query = {'filters': json.dumps(filters, sort_keys=True)}
    if since is not None:
        query['since'] = '%.6f' % since
    conn = _UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request('GET', '/events?' + urlencode(query))
        response = conn.getresponse()
    except OSError as exc:
        conn.close()
        raise TargetError('cannot reach the Docker daemon at unix://%s: %s' % (socket_path, exc))
    if response.status != 200:
        body = response.read().decode('utf-8', 'replace').strip()
        conn.close()
        raise TargetError('Docker daemon answered %d for /events: %s' % (response.status, body))
    return _event_stream(conn, response)


def _event_stream(conn, response):
    # One JSON document per line (the daemon flushes each event); http.client undoes the chunking.
    try:
        while True:
            line = response.readline()
            if not line:
                return
            if line.strip():
                yield json.loads(line.decode('utf-8'))
    finally:
        conn.close()


def event_container(event):
    """(action, full id, name) of a container event of the Engine API (``Action``/``Actor``)."""
    actor = event.get('Actor') or {}
    return (event.get('Action') or event.get('status'), actor.get('ID') or event.get('id'),
            (actor.get('Attributes') or {}).get('name'))


def container_target(info):
    """Reduce the inspect JSON to what the module needs: id, name, running, pid."""
    state = info.get('State') or {}
    return {
        'id': info['Id'],
        'name': (info.get('Name') or '').lstrip('/'),
        # A paused container still has its namespace, but nothing in it answers: treat as not running.
        'running': bool(state.get('Running')) and not state.get('Paused') and bool(state.get('Pid')),
        'pid': state.get('Pid') or 0,
    }


def started_at(info):
    """Unix time of the container's last start (inspect's State.StartedAt, RFC 3339 with up to
    nanoseconds, UTC), or None when it never started."""
    text = ((info or {}).get('State') or {}).get('StartedAt') or ''
    match = _STARTED_RE.match(text)
    if not match or text.startswith('0001-'):
        return None
    stamp = datetime.datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')
    seconds = stamp.replace(tzinfo=datetime.timezone.utc).timestamp()
    return seconds + float('0.' + (match.group(2) or '0'))


def container_aliases(container, target):
    """Every spelling of the container another tool (ovs-docker) may have recorded in container_id."""
    aliases = {container}
    if target:
        aliases.update((target['id'], target['id'][:12], target['name']))
    aliases.discard('')
    return aliases


def netns_path_for_name(name):
    """Path of a named network namespace; raise TargetError if the name or the file is bad."""
    if not _NETNS_RE.match(name or '') or name in ('.', '..'):
        raise TargetError('netns: %r is not a valid namespace name' % name)
    path = os.path.join(NETNS_DIR, name)
    if not os.path.exists(path):
        raise TargetError('netns: %s does not exist (create it with `ip netns add %s`)' % (path, name))
    return path


def netns_path_for_pid(pid, field='pid'):
    """Path of the network namespace of a process; raise TargetError if it is gone."""
    path = '/proc/%d/ns/net' % pid
    if pid <= 0 or not os.path.exists(path):
        raise TargetError('%s: no process %d on this host' % (field, pid))
    return path


def same_netns(path_a, path_b):
    """True if two namespace files are the same namespace (device and inode agree)."""
    a, b = os.stat(path_a), os.stat(path_b)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def find_dhcp_client(root='/'):
    """Return (name, path inside ``root``) of the first DHCP client found under ``root``, or None.

    ``root`` is /proc/PID/root for a container, so the client is the container's own one.
    lexists: busybox applets are (often absolute) symlinks that resolve only inside the container.
    """
    for client in DHCP_CLIENTS:
        for directory in BIN_DIRS:
            path = os.path.join(directory, client)
            if os.path.lexists(os.path.join(root, path.lstrip('/'))):
                return client, path
    return None
