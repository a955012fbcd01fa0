#!/usr/bin/python3
"""Measure how long after a container's start its attachment is back (runs on a lab host).

    reattach.py restart CONTAINER IFNAME ADDRESS DEADLINE   # docker restart, then measure
    reattach.py boot    CONTAINER IFNAME ADDRESS DEADLINE   # after a host restart: measure

Polls `docker exec CONTAINER ip -o addr show IFNAME` until ADDRESS is there (at most DEADLINE
seconds after the start), then finds ovsmesh-attachd's journal entry for the attachment. Prints
JSON: poll_delay (seconds from the container's State.StartedAt to the poll that saw the address,
an upper bound), journal_delay (from StartedAt to the journal's time stamp of the daemon's
"attached" line), and the line. Exit 1 if the address did not come back in time.
"""

import json
import subprocess
import sys
import time

# The collection's module_utils, installed by the container_network role for ovsmesh-attachd.
sys.path.insert(0, '/usr/local/lib/ovsmesh-attachd')
from ansible_collections.ovsmesh.overlay.plugins.module_utils._container import (  # noqa: E402
    inspect_container,
    started_at,
)

SOCKET = '/var/run/docker.sock'


def started(container):
    return started_at(inspect_container(SOCKET, container))


def has_address(container, ifname, address):
    res = subprocess.run(['docker', 'exec', container, 'ip', '-o', 'addr', 'show', ifname],
                         capture_output=True, text=True, check=False)
    return res.returncode == 0 and (' %s ' % address) in res.stdout


def journal_entry(container, ifname, since):
    """The first 'attached' line of ovsmesh-attachd for CONTAINER@IFNAME after ``since``."""
    res = subprocess.run(['journalctl', '-u', 'ovsmesh-attachd', '-o', 'json', '--no-pager',
                          '--since', '@%d' % int(since - 1)], capture_output=True, text=True, check=False)
    for line in res.stdout.splitlines():
        entry = json.loads(line)
        message = entry.get('MESSAGE', '')
        if isinstance(message, str) and ' %s@%s: attached' % (container, ifname) in message:
            stamp = int(entry['__REALTIME_TIMESTAMP']) / 1e6
            if stamp >= since:
                return stamp, message
    return None, None


def main():
    mode, container, ifname, address, deadline = sys.argv[1:6]
    deadline = float(deadline)
    if mode == 'restart':
        before = started(container)
        subprocess.run(['docker', 'restart', '-t', '3', container], check=True, capture_output=True)
        start = started(container)
        assert start and start != before, 'the container did not restart'
    else:
        start = None
        while start is None:  # a container with --restart always comes back with dockerd
            start = started(container)
            time.sleep(0.1)
    seen = None
    while time.time() < start + deadline:
        if has_address(container, ifname, address):
            seen = time.time()
            break
        time.sleep(0.05)
    stamp, message = None, None
    while seen and stamp is None and time.time() < start + deadline + 5:
        stamp, message = journal_entry(container, ifname, start)
        time.sleep(0.2)
    print(json.dumps({
        'container': container, 'started_at': start,
        'poll_delay': round(seen - start, 3) if seen else None,
        'journal_delay': round(stamp - start, 3) if stamp else None,
        'journal': message,
    }))
    return 0 if seen else 1


if __name__ == '__main__':
    sys.exit(main())
