# -*- coding: utf-8 -*-
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ovsmesh-attachd: keeps the persistent container attachments of ovsmesh.overlay.container_attach.

Run by its systemd unit as ``/usr/bin/python3 ovsmesh_attachd.py`` (options: ``--help``).

The module records each attachment made with ``persist: true`` in /etc/ovsmesh/attachments/.
This daemon follows Docker's container events and runs the module's own engine (the
collection's module_utils, installed beside this file by the container_network role):

- ``start``: the record is applied again (veth, OVS port, VLAN, addresses, routes);
- ``die``: the OVS port and veth left by the stopped container are removed;
- ``destroy``: the same, plus every dead OVS port recorded for the container (ovs-docker's and
  non-persistent ones too), and a record made for the container's id is dropped.

At start, and whenever the event stream was idle for --resync seconds (which retries failures),
every record is reconciled with its container. Everything it changes goes to the journal.
"""

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time

from ansible_collections.ovsmesh.overlay.plugins.module_utils._attach import (
    RECORD_DIR,
    AttachError,
    attach,
    keyed_by_id,
    load_records,
    record_matches,
    remove_dead_ports,
)
from ansible_collections.ovsmesh.overlay.plugins.module_utils._container import (
    DEFAULT_DOCKER_HOST,
    TargetError,
    container_target,
    docker_events,
    docker_socket_path,
    event_container,
    inspect_container,
    started_at,
)

EVENT_FILTERS = {'type': ['container'], 'event': ['start', 'die', 'destroy']}
# Seconds between attempts to reach a Docker daemon that does not answer (doubling).
RETRY_MIN, RETRY_MAX = 0.5, 10.0
# Where AnsibleModule.get_bin_path looks besides PATH.
SBIN = ('/sbin', '/usr/sbin', '/usr/local/sbin')
log = logging.getLogger('ovsmesh-attachd')


class Runner(object):
    """The two things the attach engine asks of its caller (AnsibleModule, in the module)."""

    def run_command(self, argv, environ_update=None):
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def get_bin_path(self, name):
        path = os.pathsep.join([os.environ.get('PATH', os.defpath)] + list(SBIN))
        return shutil.which(name, path=path)


class Daemon(object):
    def __init__(self, record_dir, socket_path, resync):
        self.record_dir, self.socket_path, self.resync = record_dir, socket_path, resync
        self.runner = Runner()

    def records(self):
        records, errors = load_records(self.record_dir)
        for path, error in errors:
            log.error('%s: ignored: %s', path, error)
        return records

    def sync(self, path, params, why):
        """Bring one attachment in line with its container: present if it runs, absent if not."""
        label = '%s %s@%s' % (why, params['container'], params['ifname'])
        try:
            info = inspect_container(docker_socket_path(params['docker_host']), params['container'])
            running = bool(info) and container_target(info)['running']
            state = 'present' if running else 'absent'
            result = attach(self.runner, dict(params, state=state))
            done = time.time()
        except AttachError as exc:
            log.error('%s: %s (done: %s)', label, exc, '; '.join((exc.result or {}).get('actions', [])) or 'nothing')
            return
        except (TargetError, ValueError) as exc:
            log.error('%s: %s', label, exc)
            return
        if result['changed'] and running:
            log.info('%s: attached %.2f s after the container started: %s', label,
                     done - (started_at(info) or done), '; '.join(result['actions']))
        elif result['changed']:
            log.info('%s: detached (the container is not running): %s', label, '; '.join(result['actions']))
        else:
            log.debug('%s: nothing to do', label)

    def reconcile(self, why):
        for path, params in self.records():
            self.sync(path, params, why)

    def on_event(self, event):
        action, container_id, name = event_container(event)
        for path, params in self.records():
            if not record_matches(params, container_id, name):
                continue
            self.sync(path, params, action + ':')
            if action == 'destroy' and keyed_by_id(params['container'], container_id):
                # A record for an id can never match another container.
                os.remove(path)
                log.info('%s: removed (its container %s is gone)', path, container_id[:12])
        if action == 'destroy':
            aliases = {container_id, container_id[:12], name} - {None}
            try:
                removed = remove_dead_ports(self.runner, aliases)
            except (AttachError, OSError) as exc:
                log.error('destroy of %s: removing its dead OVS ports failed: %s', name, exc)
            else:
                if removed:
                    log.info('destroy of %s: removed dead OVS ports %s', name, ', '.join(removed))

    def run(self):
        """Subscribe, reconcile, follow the events; start over when the stream ends or idles."""
        log.info('watching %s for the attachments recorded in %s', self.socket_path, self.record_dir)
        why, pause = 'startup:', RETRY_MIN
        while True:
            mark = time.time()
            try:
                # Subscribed first, then reconciled: a container that starts meanwhile is replayed
                # (since=mark) rather than missed. At boot the request waits on docker.socket
                # until dockerd has started its containers.
                events = docker_events(self.socket_path, EVENT_FILTERS, since=mark, timeout=self.resync)
                pause = RETRY_MIN
                self.reconcile(why)
                for event in events:
                    self.on_event(event)
                why = 'event stream ended, resync:'
            except TimeoutError:
                why = 'resync:'
            except (OSError, TargetError, ValueError) as exc:
                log.warning('Docker events: %s; retrying in %.1f s', exc, pause)
                why = 'reconnected, resync:'
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--records', default=RECORD_DIR, help='directory of the attachment records')
    parser.add_argument('--docker-host', default=os.environ.get('DOCKER_HOST', DEFAULT_DOCKER_HOST))
    parser.add_argument('--resync', type=float, default=60.0,
                        help='seconds without an event after which every record is reconciled')
    parser.add_argument('--debug', action='store_true')
    args = parser.parse_args(argv)
    # The journal adds time stamps and the unit name.
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format='%(levelname)s %(message)s', stream=sys.stdout)
    try:
        socket_path = docker_socket_path(args.docker_host)
    except ValueError as exc:
        parser.error(str(exc))
    Daemon(args.records, socket_path, args.resync).run()


if __name__ == '__main__':
    main()
