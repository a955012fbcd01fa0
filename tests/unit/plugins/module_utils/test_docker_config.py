# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils._docker_config import (
    DockerConfigError,
    bridge_options,
    daemon_json_merge,
    daemon_json_release,
    parse_command_line,
    plan_daemon,
    render_default_file,
    tcp_listener,
    to_flags,
)

WANTED = {'bridge': 'docker0', 'fixed-cidr': '172.17.64.0/18', 'mtu': 1462}
# Debian's docker.io unit: ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS
DEBIAN_EXECSTART = '/usr/sbin/dockerd -H fd:// $DOCKER_OPTS'
TLS = dict(cacert='/etc/docker/tls/ca.pem', cert='/etc/docker/tls/cert.pem', key='/etc/docker/tls/key.pem')


def test_render_default_file_single_line():
    text = render_default_file(WANTED, 'Ansible managed: ovsmesh.overlay.docker_bridge', command_line=DEBIAN_EXECSTART)
    assert text == (
        '# Ansible managed: ovsmesh.overlay.docker_bridge\n'
        '# Read by docker.service through EnvironmentFile= (systemd, no shell): keep DOCKER_OPTS on one line.\n'
        'DOCKER_OPTS="--bridge=docker0 --fixed-cidr=172.17.64.0/18 --mtu=1462"\n'
    )
    settings = [line for line in text.splitlines() if not line.startswith('#')]
    assert settings == ['DOCKER_OPTS="--bridge=docker0 --fixed-cidr=172.17.64.0/18 --mtu=1462"']
    assert '$(' not in text and '()' not in text


def test_render_default_file_multi_line_comment_and_lists():
    options = dict(WANTED, dns=['10.0.0.2', '10.0.0.3'], debug=True, iptables=False,
                   **{'log-opts': {'max-size': '10m'}})
    text = render_default_file(options, 'managed\nby Ansible')
    assert text.startswith('# managed\n# by Ansible\n')
    assert text.endswith('--dns=10.0.0.2 --dns=10.0.0.3 --debug --iptables=false --log-opt=max-size=10m"\n')


@pytest.mark.parametrize('value', ['docker0 --ip=0.0.0.0', '$(wait_ip 5)', 'a"b', 'a\nb', '`x`', 'a\\b'])
def test_render_default_file_refuses_shell(value):
    with pytest.raises(DockerConfigError, match='bridge: .* DOCKER_OPTS cannot carry'):
        render_default_file(dict(WANTED, bridge=value), 'managed')


def test_render_default_file_refuses_keys_also_in_daemon_json():
    with pytest.raises(DockerConfigError, match=r'mtu given both in daemon\.json and as a dockerd flag \(--mtu in '
                                                r'/etc/default/docker\)'):
        render_default_file(WANTED, 'managed', daemon_json={'mtu': 1500, 'storage-driver': 'overlay2'})
    # Keys that are only in daemon.json are fine.
    render_default_file(WANTED, 'managed', daemon_json={'storage-driver': 'overlay2'})


def test_render_default_file_refuses_bip_with_bridge():
    with pytest.raises(DockerConfigError, match='bip and bridge are both set'):
        render_default_file(dict(WANTED, bip='172.17.42.1/16'), 'managed')
    with pytest.raises(DockerConfigError, match='bip and bridge are both set'):
        render_default_file(WANTED, 'managed', daemon_json={'bip': '172.17.0.1/16'})


def test_render_default_file_refuses_the_seeds_open_listener():
    with pytest.raises(DockerConfigError, match=r'hosts: tcp://0\.0\.0\.0:2375 .* listens on every interface '
                                                r'without TLS client verification'):
        render_default_file(dict(WANTED, hosts=['unix:///var/run/docker.sock', 'tcp://0.0.0.0:2375']), 'managed')


def test_daemon_json_merge_keeps_other_keys():
    existing = {'storage-driver': 'overlay2', 'mtu': 1500, 'log-driver': 'journald'}
    merged = daemon_json_merge(existing, WANTED, command_line=DEBIAN_EXECSTART)
    assert merged == {'storage-driver': 'overlay2', 'mtu': 1462, 'log-driver': 'journald', 'bridge': 'docker0',
                      'fixed-cidr': '172.17.64.0/18'}
    assert existing['mtu'] == 1500  # not modified in place


def test_daemon_json_merge_refuses_a_key_also_given_as_flag():
    # The seed's DOCKER_OPTS still passes --fixed-cidr and --bridge.
    with pytest.raises(DockerConfigError, match=r'bridge, fixed-cidr given both in daemon\.json and as a dockerd flag '
                                                r'\(--bridge, --fixed-cidr in the dockerd command line\)'):
        daemon_json_merge({}, WANTED, command_line=['dockerd', '--fixed-cidr=172.17.64.0/18', '--bridge', 'docker0'])
    # Debian's unit passes -H fd://, so `hosts` in daemon.json stops dockerd.
    with pytest.raises(DockerConfigError, match=r'hosts given both .* \(--host in'):
        daemon_json_merge({'hosts': ['unix:///var/run/docker.sock']}, WANTED, command_line=DEBIAN_EXECSTART)


def test_daemon_json_merge_refuses_bip_with_bridge():
    with pytest.raises(DockerConfigError, match='bip and bridge are both set in daemon.json'):
        daemon_json_merge({'bip': '172.17.0.1/16'}, WANTED)
    with pytest.raises(DockerConfigError, match='bip and bridge are both set'):
        daemon_json_merge({}, WANTED, command_line='dockerd --bip=172.17.0.1/16')


@pytest.mark.parametrize('host', ['tcp://0.0.0.0:2375', 'tcp://:2375', 'tcp://[::]:2375', '0.0.0.0:2375',
                                  'tcp://172.17.42.1:2375'])
def test_daemon_json_merge_refuses_tcp_without_tls(host):
    with pytest.raises(DockerConfigError, match=r'hosts: .* without TLS client verification'):
        daemon_json_merge({'hosts': ['unix:///var/run/docker.sock', host]}, WANTED)
    # Also when the listener comes from the command line (the seed's DOCKER_OPTS).
    with pytest.raises(DockerConfigError, match=r'hosts: .* without TLS client verification'):
        daemon_json_merge({}, WANTED, command_line=['dockerd', '-H', host])


def test_daemon_json_merge_allows_tls_and_loopback():
    daemon_json_merge({'hosts': ['tcp://0.0.0.0:2376'], 'tlsverify': True}, WANTED)
    daemon_json_merge({'hosts': ['tcp://127.0.0.1:2375', 'unix:///run/docker.sock']}, WANTED)
    daemon_json_merge({'tlsverify': True}, WANTED, command_line='dockerd -H tcp://0.0.0.0:2376')


def test_daemon_json_merge_needs_an_object():
    with pytest.raises(DockerConfigError, match='daemon.json must hold a JSON object'):
        daemon_json_merge(['bridge'], WANTED)


def test_tcp_listener_on_docker0_with_tls():
    options = tcp_listener('172.17.42.2/16', True, **TLS)
    assert options == {'hosts': ['tcp://172.17.42.2:2376'], 'tlsverify': True, 'tlscacert': TLS['cacert'],
                       'tlscert': TLS['cert'], 'tlskey': TLS['key']}
    flags = to_flags(dict(WANTED, **options))
    assert '--host=tcp://172.17.42.2:2376' in flags and '--tlsverify' in flags
    # The rendered file passes its own checks, with Debian's -H fd:// on the command line.
    render_default_file(dict(WANTED, **options), 'managed', command_line=DEBIAN_EXECSTART)
    assert tcp_listener('fd00::2', True, port=2377, **TLS)['hosts'] == ['tcp://[fd00::2]:2377']


@pytest.mark.parametrize('args, kwargs, message', [
    (('172.17.42.2/16', False), TLS, 'refusing a TCP listener without TLS'),
    (('0.0.0.0', True), TLS, 'listens on every interface'),
    (('::', True), TLS, 'listens on every interface'),
    (('docker0', True), TLS, "address 'docker0' is not an IP address"),
    (('172.17.42.2', True), dict(TLS, port=0), 'port 0 is not a TCP port'),
    (('172.17.42.2', True), dict(TLS, key=None), 'tlskey must be an absolute path'),
    (('172.17.42.2', True), dict(TLS, cacert='ca.pem'), 'tlscacert must be an absolute path'),
])
def test_tcp_listener_refusals(args, kwargs, message):
    with pytest.raises(DockerConfigError, match=message):
        tcp_listener(*args, **kwargs)


def test_parse_command_line():
    assert parse_command_line('/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock '
                              '-b docker0 --tlsverify --mtu 1462 -Hunix:///x $DOCKER_OPTS') == [
        ('hosts', 'fd://'), ('containerd', '/run/containerd/containerd.sock'), ('bridge', 'docker0'),
        ('tlsverify', True), ('mtu', '1462'), ('hosts', 'unix:///x')]
    assert parse_command_line(None) == []


def test_bridge_options_from_an_allocation():
    allocation = {'address': '172.17.42.1/16', 'fixed_cidr': '172.17.64.0/18', 'mtu': 1462}
    assert bridge_options(allocation) == WANTED
    assert bridge_options({'fixed_cidr': '172.17.1.0/24'}) == {'bridge': 'docker0', 'fixed-cidr': '172.17.1.0/24'}


ALLOCATION = {'address': '172.17.42.1/16', 'gateway': '172.17.42.1', 'fixed_cidr': '172.17.64.0/18', 'mtu': 1462}
LAB_JSON = {'storage-driver': 'vfs'}


def test_plan_daemon_default_file_keeps_daemon_json():
    plan = plan_daemon(ALLOCATION, daemon_json=LAB_JSON, command_line=DEBIAN_EXECSTART)
    assert plan['options'] == WANTED
    assert plan['daemon_json'] == LAB_JSON
    assert plan['default_file'].splitlines() == [
        '# Read by docker.service through EnvironmentFile= (systemd, no shell): keep DOCKER_OPTS on one line.',
        'DOCKER_OPTS="--bridge=docker0 --fixed-cidr=172.17.64.0/18 --mtu=1462"']


def test_plan_daemon_daemon_json_merges_and_keeps_storage_driver():
    plan = plan_daemon(ALLOCATION, config='daemon_json', daemon_json=LAB_JSON, command_line=DEBIAN_EXECSTART)
    assert plan == {'options': WANTED, 'daemon_json': dict(LAB_JSON, **WANTED)}
    # A missing daemon.json is an empty one.
    assert plan_daemon(ALLOCATION, config='daemon_json')['daemon_json'] == WANTED


def test_plan_daemon_switching_style_releases_our_keys_only():
    # What the daemon_json style wrote moves to DOCKER_OPTS; storage-driver stays.
    plan = plan_daemon(ALLOCATION, daemon_json=dict(LAB_JSON, **WANTED), command_line=DEBIAN_EXECSTART)
    assert plan['daemon_json'] == LAB_JSON
    # A different value is not ours: refused, naming it, rather than dropped.
    with pytest.raises(DockerConfigError, match=r'mtu given both in daemon\.json and as a dockerd flag'):
        plan_daemon(ALLOCATION, daemon_json=dict(LAB_JSON, mtu=1500))
    assert daemon_json_release({'mtu': 1500, 'bridge': 'docker0'}, WANTED) == {'mtu': 1500}
    assert daemon_json_release(None, WANTED) == {}


def test_plan_daemon_pitfalls():
    # --bip with --bridge: from daemon.json, the command line or the extra options.
    with pytest.raises(DockerConfigError, match='bip and bridge are both set'):
        plan_daemon(ALLOCATION, daemon_json={'bip': '172.17.0.1/16'})
    with pytest.raises(DockerConfigError, match='bip and bridge are both set'):
        plan_daemon(ALLOCATION, config='daemon_json', command_line='dockerd --bip 172.17.0.1/16')
    with pytest.raises(DockerConfigError, match=r'options: bip, mtu planned by the role'):
        plan_daemon(ALLOCATION, extra={'bip': '172.17.0.1/16', 'mtu': 1500})
    # The same key twice stops dockerd: a DOCKER_OPTS left from the seed, with daemon_json.
    with pytest.raises(DockerConfigError, match=r'fixed-cidr given both'):
        plan_daemon(ALLOCATION, config='daemon_json', command_line=DEBIAN_EXECSTART + ' --fixed-cidr=172.17.0.0/18')
    with pytest.raises(DockerConfigError, match='config'):
        plan_daemon(ALLOCATION, config='sysconfig')


def test_plan_daemon_extra_options():
    plan = plan_daemon(ALLOCATION, extra={'live-restore': True, 'dns': ['10.0.0.2']}, command_line=DEBIAN_EXECSTART)
    assert plan['default_file'].endswith('--mtu=1462 --live-restore --dns=10.0.0.2"\n')


def test_plan_daemon_tcp_listener():
    tcp = dict(port=2376, **TLS)
    plan = plan_daemon(ALLOCATION, tcp=tcp, daemon_json=LAB_JSON, command_line=DEBIAN_EXECSTART)
    assert plan['options']['hosts'] == ['tcp://172.17.42.1:2376']
    assert '--host=tcp://172.17.42.1:2376 --tlsverify --tlscacert=/etc/docker/tls/ca.pem' in plan['default_file']
    # daemon_json: Debian's unit passes -H fd://, so `hosts` in daemon.json would stop dockerd.
    with pytest.raises(DockerConfigError, match=r'hosts given both'):
        plan_daemon(ALLOCATION, config='daemon_json', tcp=tcp, command_line=DEBIAN_EXECSTART)
    # A unit without -H takes the listener from daemon.json.
    plan = plan_daemon(ALLOCATION, config='daemon_json', tcp=tcp, command_line='/usr/bin/dockerd')
    assert plan['daemon_json']['tlsverify'] is True
    with pytest.raises(DockerConfigError, match='tlskey must be an absolute path'):
        plan_daemon(ALLOCATION, tcp=dict(tcp, key=None))
    with pytest.raises(DockerConfigError, match=r'options: hosts planned by the role'):
        plan_daemon(ALLOCATION, tcp=tcp, extra={'hosts': ['tcp://0.0.0.0:2375']})
