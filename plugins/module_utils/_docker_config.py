# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure rendering of the Docker daemon settings of the docker_bridge role.

One model for both configuration styles: an ordered dict of daemon options keyed by their
daemon.json names ({'bridge': 'docker0', 'fixed-cidr': '172.17.64.0/18', 'mtu': 1462}), rendered
either as DOCKER_OPTS in /etc/default/docker or merged into /etc/docker/daemon.json.

Each refusal below is a way to make dockerd fail to start, or to expose it:
- the same option both as a flag (unit ExecStart or DOCKER_OPTS) and in daemon.json: dockerd exits
  ("the following directives are specified both as a flag and in the configuration file");
- bip together with bridge: dockerd exits ("mutually exclusive options");
- a TCP listener without TLS client verification: whoever reaches it is root on the host. That
  includes every container of the mesh when it is bound to docker0's address.

No I/O here. Errors are raised as DockerConfigError (a ValueError) naming the option at fault.
"""

from __future__ import annotations

import ipaddress
import shlex

# daemon.json keys whose flag has another name (dockerd's "named options"); the others are equal.
FLAG_NAMES = {
    'hosts': 'host',
    'labels': 'label',
    'insecure-registries': 'insecure-registry',
    'registry-mirrors': 'registry-mirror',
    'storage-opts': 'storage-opt',
    'log-opts': 'log-opt',
    'exec-opts': 'exec-opt',
    'dns-opts': 'dns-opt',
    'authorization-plugins': 'authorization-plugin',
    'default-ulimits': 'default-ulimit',
    'default-address-pools': 'default-address-pool',
    'runtimes': 'add-runtime',
}
OPTION_KEYS = dict((flag, key) for key, flag in FLAG_NAMES.items())
# dockerd's one-letter flags.
SHORT_FLAGS = {'H': 'hosts', 'b': 'bridge', 'D': 'debug', 'G': 'group', 'l': 'log-level', 's': 'storage-driver',
               'p': 'pidfile', 'g': 'graph'}
# Flags that take no value on the command line (`--tlsverify`, not `--tlsverify true`).
BOOL_OPTIONS = frozenset(('debug', 'tls', 'tlsverify', 'icc', 'ip-forward', 'ip-masq', 'iptables', 'ip6tables',
                          'ipv6', 'experimental', 'live-restore', 'userland-proxy', 'selinux-enabled',
                          'no-new-privileges', 'init', 'rootless'))
# `$DOCKER_OPTS` in ExecStart is split on blanks, systemd's EnvironmentFile= parses quotes and
# backslashes, and sysvinit sources the file as shell (where $ and ` expand inside double quotes):
# none of these may appear in a flag.
UNSAFE_CHARACTERS = frozenset('"\'\\$`\n\r\t ')
LOOPBACK_NAMES = ('localhost',)
DOCKER_TLS_PORT = 2376


class DockerConfigError(ValueError):
    """Settings dockerd would refuse, or that would expose it; the message names the option."""


def flag_for(key):
    return '--' + FLAG_NAMES.get(key, key)


def key_for(flag):
    """daemon.json key of a command-line flag: '-H' and '--host' -> 'hosts'; None if not a flag."""
    if flag.startswith('--') and len(flag) > 2:
        name = flag[2:].split('=', 1)[0]
        return OPTION_KEYS.get(name, name)
    if flag.startswith('-') and len(flag) > 1 and flag[1] in SHORT_FLAGS:
        return SHORT_FLAGS[flag[1]]
    return None


def parse_command_line(argv):
    """Return [(key, value)] of the dockerd flags in argv (a list, or a string split like a shell).

    Bool flags get True. Words that are not flags (the program, `$DOCKER_OPTS`) are skipped.
    """
    words = shlex.split(argv) if isinstance(argv, str) else list(argv or ())
    result = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        key = key_for(word)
        if key is None:
            continue
        if word.startswith('--') and '=' in word:
            value = word.split('=', 1)[1]
        elif not word.startswith('--') and len(word) > 2:
            value = word[2:]  # -Hfd://
        elif key in BOOL_OPTIONS:
            value = True
        elif index < len(words) and not words[index].startswith('-'):
            value = words[index]
            index += 1
        else:
            value = None
        result.append((key, value))
    return result


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _true(value):
    return value is True or (isinstance(value, str) and value.lower() in ('true', '1', 'yes'))


def tcp_host_problem(host):
    """Why a `hosts` entry is an exposed TCP listener, or None. Entries without a scheme are TCP."""
    scheme, sep, rest = host.partition('://')
    if not sep:
        scheme, rest = 'tcp', host
    if scheme != 'tcp':
        return None
    hostname = rest.rsplit(':', 1)[0].strip('[]') if ':' in rest else rest
    if hostname in LOOPBACK_NAMES:
        return None
    if not hostname:
        return 'listens on every interface'
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return 'listens on %s' % hostname
    if address.is_loopback:
        return None
    if address.is_unspecified:
        return 'listens on every interface'
    return 'listens on %s' % address


def validate_options(options, where='the dockerd settings'):
    """Refuse bip with bridge, and TCP listeners without TLS client verification.

    options: the effective settings (daemon.json and command line together).
    """
    if options.get('bip') not in (None, '') and options.get('bridge') not in (None, ''):
        raise DockerConfigError('bip and bridge are both set in %s: dockerd refuses them together; docker0 gets '
                                'its address from the overlay, so remove bip' % where)
    if _true(options.get('tlsverify')):
        return
    for host in _as_list(options.get('hosts')):
        problem = host is not None and tcp_host_problem(str(host))
        if problem:
            raise DockerConfigError('hosts: %s in %s %s without TLS client verification (tlsverify): whoever reaches '
                                    'it is root on the host; use tcp_listener() on the docker0 address with TLS'
                                    % (host, where, problem))


def _merge_command_line(options, command_line):
    """Effective settings: options plus the flags of the command line (list options add up)."""
    effective = dict(options)
    for key, value in command_line:
        if key == 'hosts':
            effective['hosts'] = _as_list(effective.get('hosts')) + [value]
        else:
            effective[key] = value
    return effective


def _refuse_duplicates(keys, command_line, where):
    twice = sorted(set(keys) & set(key for key, dummy in command_line))
    if twice:
        raise DockerConfigError('%s given both in daemon.json and as a dockerd flag (%s): dockerd refuses to start; '
                                'keep each setting in one place'
                                % (', '.join(twice), ', '.join(flag_for(key) for key in twice) + ' in ' + where))


def to_flags(options):
    """Render options as dockerd flags, in their order: lists repeat the flag, dicts give key=value."""
    flags = []
    for key, value in options.items():
        flag = flag_for(key)
        if isinstance(value, dict):
            values = ['%s=%s' % item for item in sorted(value.items())]
        else:
            values = _as_list(value)
        for item in values:
            if item is True:
                text = flag
            else:
                text = '%s=%s' % (flag, str(item).lower() if isinstance(item, bool) else item)
            bad = sorted(set(text) & UNSAFE_CHARACTERS)
            if bad:
                raise DockerConfigError('%s: %r holds %s, which DOCKER_OPTS cannot carry (one line, read by systemd '
                                        'without a shell)' % (key, item, ' '.join(repr(c) for c in bad)))
            flags.append(text)
    return flags


def render_default_file(opts, managed_comment, daemon_json=None, command_line=()):
    """Return /etc/default/docker with one single-line DOCKER_OPTS for Debian's docker.service.

    opts: ordered dict of daemon options. daemon_json: the daemon.json in use, if any, to refuse
    options given in both places. command_line: the unit's own ExecStart flags (Debian: -H fd://).
    No shell functions, no multi-line value, no $(...): systemd's EnvironmentFile= runs no shell.
    """
    _refuse_duplicates(opts, [(key, None) for key in (daemon_json or {})], '/etc/default/docker')
    effective = _merge_command_line(dict(daemon_json or {}), parse_command_line(command_line))
    effective = _merge_command_line(effective, parse_command_line(to_flags(opts)))
    validate_options(effective, 'the dockerd settings (DOCKER_OPTS, daemon.json and the unit together)')
    comment = ''.join('# %s\n' % line if line else '#\n' for line in managed_comment.splitlines())
    return ('%s# Read by docker.service through EnvironmentFile= (systemd, no shell): keep DOCKER_OPTS on one line.\n'
            'DOCKER_OPTS="%s"\n' % (comment, ' '.join(to_flags(opts))))


def daemon_json_merge(existing_dict, wanted, command_line=()):
    """Return a new daemon.json dict: existing_dict with the wanted options set, other keys kept.

    command_line: the flags dockerd also gets (unit ExecStart plus DOCKER_OPTS), as a list or a
    string; an option there and in daemon.json stops dockerd, so it is refused here.
    """
    if not isinstance(existing_dict, dict):
        raise DockerConfigError('daemon.json must hold a JSON object, got %r' % (existing_dict,))
    merged = dict(existing_dict)
    merged.update(wanted)
    flags = parse_command_line(command_line)
    _refuse_duplicates(merged, flags, 'the dockerd command line')
    validate_options(_merge_command_line(merged, flags), 'daemon.json')
    return merged


def tcp_listener(address, tls, port=DOCKER_TLS_PORT, cacert=None, cert=None, key=None):
    """Options for a dockerd TCP listener on the host's docker0 address: only with TLS verification.

    address: the docker0 address ('172.17.42.1/16' or '172.17.42.1'). Returns {'hosts': [...],
    'tlsverify': True, 'tlscacert', 'tlscert', 'tlskey'}; merge it into the options. The mesh
    reaches the listener from every host and container, hence client certificates are required.
    """
    if not tls:
        raise DockerConfigError('tcp_listener: refusing a TCP listener without TLS: every host and container of the '
                                'mesh could use it as root; give the TLS files or keep the Unix socket only')
    try:
        ip = ipaddress.ip_interface(str(address)).ip
    except ValueError:
        raise DockerConfigError('tcp_listener: address %r is not an IP address' % (address,))
    if ip.is_unspecified:
        raise DockerConfigError('tcp_listener: address %s listens on every interface; give the docker0 address' % ip)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise DockerConfigError('tcp_listener: port %r is not a TCP port' % (port,))
    files = {'tlscacert': cacert, 'tlscert': cert, 'tlskey': key}
    for name, path in files.items():
        if not isinstance(path, str) or not path.startswith('/'):
            raise DockerConfigError('tcp_listener: %s must be an absolute path, got %r' % (name, path))
    host = '[%s]' % ip if ip.version == 6 else str(ip)
    result = {'hosts': ['tcp://%s:%d' % (host, port)], 'tlsverify': True}
    result.update(files)
    return result


def bridge_options(allocation, bridge='docker0'):
    """Daemon options for one host from its docker_bridge_cidr allocation (bridge, fixed-cidr[, mtu])."""
    options = {'bridge': bridge, 'fixed-cidr': allocation['fixed_cidr']}
    if allocation.get('mtu') is not None:
        options['mtu'] = allocation['mtu']
    return options


def daemon_json_release(existing_dict, options):
    """Return daemon.json without the entries that equal options: what the daemon_json style left there.

    Switching a host to the default_file style moves these settings to DOCKER_OPTS; left in
    daemon.json as well, they would stop dockerd. Entries with other values are kept (and then
    refused by render_default_file, naming them): they are not ours to drop.
    """
    return dict((key, value) for key, value in (existing_dict or {}).items()
                if not (key in options and options[key] == value))


def plan_daemon(allocation, config='default_file', bridge='docker0', extra=None, tcp=None, daemon_json=None,
                command_line=()):
    """Docker daemon settings of one host from its docker_bridge_cidr allocation.

    config: 'default_file' (DOCKER_OPTS in /etc/default/docker) or 'daemon_json'.
    extra: more daemon options (daemon.json names) the operator wants in the same place.
    tcp: None, or dict(port=, cacert=, cert=, key=) for a TLS listener on the docker0 address.
    daemon_json: the host's current daemon.json (dict, None when absent). command_line: the other
    flags dockerd gets (the unit's ExecStart, plus a DOCKER_OPTS this role did not write).
    Returns {'options', 'daemon_json'[, 'default_file']}: the wanted daemon.json (unchanged
    unless this role's settings go there or leave it) and, for default_file, the file's text
    without its managed header.
    """
    if config not in ('default_file', 'daemon_json'):
        raise DockerConfigError('config: %r is not default_file or daemon_json' % (config,))
    options = bridge_options(allocation, bridge)
    if tcp:
        options.update(tcp_listener(allocation.get('gateway') or allocation.get('address'), True, **tcp))
    clash = sorted(set(extra or {}) & (set(options) | set(('bip',))))
    if clash:
        raise DockerConfigError('options: %s planned by the role (bridge, address plan, TCP listener); remove %s '
                                'from the extra options' % (', '.join(clash), 'it' if len(clash) == 1 else 'them'))
    options.update(extra or {})
    if config == 'daemon_json':
        return {'options': options, 'daemon_json': daemon_json_merge(daemon_json or {}, options, command_line)}
    released = daemon_json_release(daemon_json, options)
    return {'options': options, 'daemon_json': released,
            'default_file': render_default_file(options, '', daemon_json=released, command_line=command_line)}
