# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _attach as ca

CID = '9c523a14cfdaad5ed6dc85a9fd6489443a0e6e9cc187739e9e360894436243d4'
HOST = 'vo1234567890ab'
EDGE = {'rstp-port-admin-edge': 'true'}


def port(tag=None, bridge='br0', other_config=None):
    """An OVS port as parse_snapshot gives it; an edge port unless other_config says otherwise."""
    return {'bridge': bridge, 'tag': tag, 'other_config': EDGE if other_config is None else other_config}


def params(**kwargs):
    base = dict(container='web', netns=None, pid=None, docker_host='unix:///var/run/docker.sock',
                mode='veth', bridge='br0', parent=None, macvlan_mode='bridge', ifname='eth1',
                address=None, dhcp=False, gateway=None, default_route=False, mac=None, mtu=None,
                vlan=None, state='present', persist=False)
    base.update(kwargs)
    return base


def want(**kwargs):
    """What build_want returns for an OVS bridge br0 (MTU 1500)."""
    base = dict(mode='veth', state='present', ifname='eth1', host_ifname=HOST, bridge='br0',
                bridge_type='ovs', bridge_index=None, parent=None, macvlan_mode='bridge',
                mac='02:00:00:00:00:01', mtu=None, mtu_create=1500, addresses=None, dhcp=False,
                gateways={}, default_route=False, vlan=None,
                external_ids={'container_id': 'web', 'container_iface': 'eth1'})
    base.update(kwargs)
    return base


def link(**kwargs):
    base = dict(index=2, ifname='eth1', kind='veth', link=40, mtu=1500, mac='02:00:00:00:00:01',
                master=None, up=True, macvlan_mode=None)
    base.update(kwargs)
    return base


def have(**kwargs):
    """The live state of a converged OVS attachment (eth1 <-> HOST on br0, no tag)."""
    base = dict(container_link=link(), host_link=link(index=40, ifname=HOST, link=2),
                host_master=None, ovs_port=port(),
                ovs_external_ids={'container_id': 'web', 'container_iface': 'eth1'},
                stale_ports=[], addresses=[], routes=[], parent_name=None, ipv6_disabled=False)
    base.update(kwargs)
    return base


def fresh(**kwargs):
    """The live state before anything is attached."""
    base = dict(container_link=None, host_link=None, ovs_port=None, ovs_external_ids={})
    base.update(kwargs)
    return have(**base)


def ops(acts):
    return [a['op'] for a in acts]


# --- validation -------------------------------------------------------------------------------

def test_validate_normalises():
    opts = ca.validate_params(params(address=['10.0.0.2/24', 'FD00::2/64'], gateway=['10.0.0.1'],
                                     mac='02-AA-BB-CC-DD-EE', vlan=100, mtu=1450))
    assert opts == {'ifname': 'eth1', 'vlan': 100, 'mtu': 1450, 'mac': '02:aa:bb:cc:dd:ee',
                    'addresses': ['10.0.0.2/24', 'fd00::2/64'], 'gateways': {4: '10.0.0.1'}}


@pytest.mark.parametrize('kwargs, message', [
    (dict(vlan=0), '^vlan: 0 is out of range 1..4094'),
    (dict(vlan=4095), '^vlan: '),
    (dict(mtu=67), '^mtu: '),
    (dict(mtu=1000, address=['fd00::1/64']), '^mtu: 1000 is below 1280'),
    (dict(ifname='averyveryverylongname'), '^ifname: '),
    (dict(address=['10.0.0.1']), '^address: .*prefix'),
    (dict(mac='ff:ff:ff:ff:ff:ff'), '^mac: .*multicast'),
    (dict(gateway=['10.0.0.1', '10.0.0.2']), '^gateway: '),
    (dict(bridge=None), '^bridge: required'),
    (dict(parent='eth0'), '^parent: only used with mode=macvlan'),
    (dict(mode='macvlan', bridge=None), '^parent: required'),
    (dict(mode='macvlan', parent='eth0', bridge='br0'), '^bridge: only used with mode=veth'),
    (dict(mode='macvlan', parent='eth0', bridge=None, vlan=5), '^vlan: only with mode=veth'),
    (dict(container=None, pid=0), '^pid: '),
])
def test_validate_refuses_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ca.validate_params(params(**kwargs))


def test_absent_needs_no_bridge():
    assert ca.validate_params(params(bridge=None, state='absent'))['ifname'] == 'eth1'


def test_identity_and_recorded_container_id():
    target = {'id': CID, 'name': 'web'}
    assert ca.identity(params(container='web'), target) == (CID, 'web')
    # A container Docker does not know (absent): the value as given.
    assert ca.identity(params(container='web'), None) == ('web', 'web')
    assert ca.identity(params(container=None, netns='blue'), None) == ('netns:blue', 'blue')
    assert ca.identity(params(container=None, pid=42), None) == ('pid:42', '42')


def test_default_mtu_leaves_room_for_the_vlan_tag():
    assert ca.default_mtu(1450, None) == 1450
    assert ca.default_mtu(1450, 100) == 1446
    assert ca.default_mtu(None, None) == 1500


def test_bridge_mtu_prefers_ovs_mtu_request():
    assert ca.bridge_mtu({'mtu': 1400}, {'mtu': 1400, 'mtu_request': 1450}) == 1450
    assert ca.bridge_mtu({'mtu': 1400}, {'mtu': 1400, 'mtu_request': None}) == 1400
    assert ca.bridge_mtu(None, {'mtu': 1500, 'mtu_request': None}) == 1500
    assert ca.bridge_mtu({'mtu': 9000}, None) == 9000


# --- planning: veth on OVS --------------------------------------------------------------------

def test_new_attachment_on_ovs_is_one_transaction():
    acts = ca.plan_present(want(vlan=100, addresses=['10.0.0.2/24']), fresh())
    assert ops(acts) == ['create_veth', 'ovs', 'set_host', 'set_container', 'addr_add']
    assert acts[0]['host'] == HOST and 'mtu 1500' in acts[0]['text']
    assert acts[1]['args'] == ['--', 'add-port', 'br0', HOST, 'tag=100',
                               'other_config:rstp-port-admin-edge=true',
                               '--', 'set', 'Interface', HOST,
                               'external_ids:container_id=web', 'external_ids:container_iface=eth1']


def test_converged_attachment_plans_nothing():
    assert ca.plan_present(want(addresses=['10.0.0.2/24']), have(addresses=['10.0.0.2/24', 'fe80::1/64'])) == []


def test_vlan_change_in_place():
    acts = ca.plan_present(want(vlan=200), have(ovs_port=port(100)))
    assert ops(acts) == ['ovs']
    assert acts[0]['args'] == ['--', 'set', 'Port', HOST, 'tag=200']
    acts = ca.plan_present(want(), have(ovs_port=port(100)))
    assert acts[0]['args'] == ['--', 'clear', 'Port', HOST, 'tag']


def test_mtu_change_in_place_on_both_ends():
    acts = ca.plan_present(want(mtu=1450), have())
    assert ops(acts) == ['set_container', 'set_host']
    assert acts[0]['attrs'] == {'mtu': 1450} and acts[1]['attrs'] == {'mtu': 1450}
    assert acts[1]['host'] == HOST


def test_mtu_not_given_keeps_existing_link_mtu():
    # A bridge without a fixed MTU follows its smallest port: following it back would cascade.
    assert ca.plan_present(want(mtu_create=1400), have()) == []


def test_address_and_mac_change_in_place():
    acts = ca.plan_present(want(addresses=['10.0.0.3/24'], mac='02:00:00:00:00:09'),
                           have(addresses=['10.0.0.2/24', 'fe80::1/64']))
    assert [(a['op'], a.get('address')) for a in acts] == [
        ('set_container', None), ('addr_del', '10.0.0.2/24'), ('addr_add', '10.0.0.3/24')]
    assert acts[0]['attrs'] == {'address': '02:00:00:00:00:09'}


def test_addresses_not_given_are_left_alone():
    assert ca.plan_present(want(), have(addresses=['10.0.0.2/24'])) == []


def test_port_without_edge_setting_becomes_an_edge_port():
    # An ovs-docker port, or one from before this setting: made an edge port in place.
    acts = ca.plan_present(want(vlan=7), have(ovs_port=port(other_config={'other': 'x'})))
    assert acts[0]['args'] == ['--', 'set', 'Port', HOST, 'tag=7', 'other_config:rstp-port-admin-edge=true']
    acts = ca.plan_present(want(), have(ovs_port=port(tag=7, other_config={})))
    assert acts[0]['args'] == ['--', 'clear', 'Port', HOST, 'tag',
                               '--', 'set', 'Port', HOST, 'other_config:rstp-port-admin-edge=true']


def test_missing_external_ids_are_set():
    acts = ca.plan_present(want(), have(ovs_external_ids={}))
    assert acts[0]['args'] == ['--', 'set', 'Interface', HOST, 'external_ids:container_id=web',
                               'external_ids:container_iface=eth1']


def test_odd_container_id_is_quoted():
    acts = ca.plan_present(want(external_ids={'container_id': 'a:b=c', 'container_iface': 'eth1'}), have())
    assert acts[0]['args'][-2] == 'external_ids:container_id="a:b=c"'


def test_restarted_container_drops_stale_port_in_its_own_transaction():
    # veth gone with the old namespace, OVS port still there.
    acts = ca.plan_present(want(vlan=100), fresh(ovs_port=port(100)))
    assert ops(acts)[:3] == ['ovs', 'create_veth', 'ovs']
    assert acts[0]['args'] == ['--', '--if-exists', 'del-port', HOST]
    assert acts[2]['args'][:5] == ['--', 'add-port', 'br0', HOST, 'tag=100']


def test_stale_ovs_docker_ports_removed_in_the_same_transaction():
    acts = ca.plan_present(want(), fresh(stale_ports=['abc_l']))
    assert acts[1]['args'][:8] == ['--', '--if-exists', 'del-port', 'abc_l', '--', 'add-port', 'br0', HOST]


def test_adopted_ovs_docker_port_keeps_its_name():
    adopted = have(host_link=link(index=40, ifname='abc_l', link=2), ovs_port=port())
    acts = ca.plan_present(want(vlan=5), adopted)
    assert acts[0]['args'] == ['--', 'set', 'Port', 'abc_l', 'tag=5']


def test_port_on_another_bridge_is_moved():
    acts = ca.plan_present(want(), have(ovs_port=port(bridge='br9')))
    assert acts[0]['args'][:8] == ['--', '--if-exists', 'del-port', HOST, '--', 'add-port', 'br0', HOST]


def test_down_links_are_brought_up():
    acts = ca.plan_present(want(), have(container_link=link(up=False), host_link=link(index=40, ifname=HOST, up=False)))
    assert [(a['op'], a['attrs']) for a in acts] == [('set_host', {'state': 'up'}), ('set_container', {'state': 'up'})]


def test_ipv6_enabled_before_ipv6_address():
    acts = ca.plan_present(want(addresses=['fd00::2/64']), fresh(ipv6_disabled=True))
    assert ops(acts)[-2:] == ['enable_ipv6', 'addr_add']
    assert ca.plan_present(want(addresses=['10.0.0.2/24']), fresh(ipv6_disabled=True))[-1]['op'] == 'addr_add'
    assert 'enable_ipv6' not in ops(ca.plan_present(want(addresses=['10.0.0.2/24']), fresh(ipv6_disabled=True)))


# --- planning: Linux bridge and macvlan -------------------------------------------------------

def test_linux_bridge_uses_master_not_ovs():
    acts = ca.plan_present(want(bridge='docker0', bridge_type='linux', bridge_index=7), fresh())
    assert ops(acts) == ['create_veth', 'set_host', 'set_host', 'set_container']
    assert acts[1]['attrs'] == {'master': 7}
    converged = have(ovs_port=None, host_master={'index': 7, 'ifname': 'docker0', 'kind': 'bridge'})
    assert ca.plan_present(want(bridge='docker0', bridge_type='linux', bridge_index=7), converged) == []


def test_moving_from_ovs_to_linux_bridge():
    acts = ca.plan_present(want(bridge='docker0', bridge_type='linux', bridge_index=7), have())
    assert ops(acts) == ['ovs', 'set_host']
    assert acts[0]['args'] == ['--', '--if-exists', 'del-port', HOST]


def test_moving_from_linux_bridge_to_ovs_releases_first():
    acts = ca.plan_present(want(), have(ovs_port=None, host_master={'index': 7, 'ifname': 'docker0', 'kind': 'bridge'}))
    assert ops(acts) == ['set_host', 'ovs']
    assert acts[0]['attrs'] == {'master': 0}


def macvlan_want(**kwargs):
    return want(mode='macvlan', bridge=None, bridge_type=None, parent='eth0', parent_index=3, host_ifname=None,
                **kwargs)


def test_macvlan_create_and_converged():
    acts = ca.plan_present(macvlan_want(addresses=['10.0.0.5/24']), fresh())
    assert ops(acts) == ['create_macvlan', 'set_container', 'addr_add']
    mv = link(kind='macvlan', link=3, macvlan_mode='bridge')
    assert ca.plan_present(macvlan_want(addresses=['10.0.0.5/24']),
                           have(container_link=mv, host_link=None, ovs_port=None, addresses=['10.0.0.5/24'])) == []


def test_macvlan_mode_change_recreates_and_readds_addresses():
    mv = link(kind='macvlan', link=3, macvlan_mode='bridge')
    acts = ca.plan_present(macvlan_want(macvlan_mode='private', addresses=['10.0.0.5/24']),
                           have(container_link=mv, host_link=None, ovs_port=None, addresses=['10.0.0.5/24']))
    assert ops(acts) == ['delete_container', 'create_macvlan', 'set_container', 'addr_add']


# --- planning: routes and DHCP ----------------------------------------------------------------

DOCKER_DEFAULT = {'family': 4, 'gateway': '172.17.0.1', 'oif': 9, 'priority': None}


def test_gateway_added_when_no_default_route():
    acts = ca.plan_present(want(addresses=['10.0.0.2/24'], gateways={4: '10.0.0.1'}), fresh())
    assert acts[-1] == {'op': 'route_add', 'family': 4, 'gateway': '10.0.0.1', 'onlink': False,
                        'text': 'add default route via 10.0.0.1 dev eth1'}


def test_gateway_outside_subnets_is_onlink():
    acts = ca.plan_present(want(addresses=['10.0.0.2/24'], gateways={4: '10.9.0.1'}), fresh())
    assert acts[-1]['onlink'] is True


def test_other_default_route_kept_without_default_route():
    acts = ca.plan_present(want(gateways={4: '10.0.0.1'}), have(routes=[DOCKER_DEFAULT]))
    assert acts == []


def test_default_route_true_replaces_the_others():
    acts = ca.plan_present(want(gateways={4: '10.0.0.1'}, default_route=True), have(routes=[DOCKER_DEFAULT]))
    assert ops(acts) == ['route_del', 'route_add']
    assert acts[0]['route'] == DOCKER_DEFAULT


def test_own_default_route_with_old_gateway_is_replaced():
    mine = {'family': 4, 'gateway': '10.0.0.254', 'oif': 2, 'priority': None}
    acts = ca.plan_present(want(gateways={4: '10.0.0.1'}), have(routes=[mine]))
    assert ops(acts) == ['route_del', 'route_add']
    assert ca.plan_present(want(gateways={4: '10.0.0.254'}), have(routes=[mine])) == []


def test_ipv6_gateway_only_touches_ipv6_routes():
    acts = ca.plan_present(want(gateways={6: 'fd00::1'}, default_route=True), have(routes=[DOCKER_DEFAULT]))
    assert ops(acts) == ['route_add'] and acts[0]['family'] == 6


def test_dhcp_only_without_ipv4_address():
    acts = ca.plan_present(want(dhcp=True, dhcp_client=('udhcpc', '/sbin/udhcpc')), fresh())
    assert ops(acts)[-1] == 'dhcp' and acts[-1]['text'] == 'run udhcpc on eth1'
    assert ca.plan_present(want(dhcp=True, dhcp_client=('udhcpc', '/sbin/udhcpc')),
                           have(addresses=['10.0.0.103/24'])) == []


# --- detach -----------------------------------------------------------------------------------

def absent_have(**kwargs):
    base = dict(fresh(), ovs_delete=[], host_delete=[])
    base.update(kwargs)
    return base


def test_absent_removes_ports_then_links():
    acts = ca.plan_absent(want(state='absent'), absent_have(ovs_delete=['abc_l', HOST], host_delete=[HOST]))
    assert ops(acts) == ['ovs', 'delete_host']
    assert acts[0]['args'] == ['--', '--if-exists', 'del-port', 'abc_l', '--', '--if-exists', 'del-port', HOST]


def test_absent_when_nothing_there():
    w = want(state='absent')
    assert ca.plan_absent(w, absent_have()) == []
    assert ca.view_have(w, absent_have()) == {'state': 'absent', 'ifname': 'eth1'}


def test_absent_macvlan_deletes_inside():
    mv = link(kind='macvlan', link=3)
    assert ops(ca.plan_absent(macvlan_want(state='absent'), absent_have(container_link=mv))) == ['delete_container']


# --- diff views -------------------------------------------------------------------------------

def test_views_before_after():
    w = want(vlan=100, addresses=['10.0.0.2/24'], mtu=1450)
    h = have(addresses=['10.0.0.3/24'])
    before = ca.view_have(w, h)
    assert before == {'state': 'present', 'ifname': 'eth1', 'mac': '02:00:00:00:00:01', 'mtu': 1500,
                      'addresses': ['10.0.0.3/24'], 'host_ifname': HOST, 'vlan': None, 'bridge': 'br0',
                      'bridge_type': 'ovs'}
    after = ca.view_want(w, h, before)
    assert after == dict(before, mtu=1450, vlan=100, addresses=['10.0.0.2/24'])


def test_view_of_new_attachment_uses_creation_mtu():
    w = want(mtu_create=1462)
    before = ca.view_have(w, fresh())
    assert before == {'state': 'absent', 'ifname': 'eth1'}
    assert ca.view_want(w, fresh(), before)['mtu'] == 1462


# --- OVS snapshot -----------------------------------------------------------------------------

def _doc(headings, rows):
    return json.dumps({'headings': headings, 'data': rows})


SNAPSHOT = '\n'.join([
    _doc(['_uuid', 'name', 'ports'], [
        [['uuid', 'b-br0'], 'br0', ['set', [['uuid', 'p-br0'], ['uuid', 'p-vo1']]]],
        [['uuid', 'b-br1'], 'br1', ['uuid', 'p-old']],      # a one-element set comes bare
    ]),
    _doc(['_uuid', 'name', 'tag', 'interfaces', 'other_config'], [
        [['uuid', 'p-br0'], 'br0', ['set', []], ['uuid', 'i-br0'], ['map', []]],
        [['uuid', 'p-vo1'], 'vo1', 100, ['uuid', 'i-vo1'], ['map', [['rstp-port-admin-edge', 'true']]]],
        [['uuid', 'p-old'], 'abc_l', ['set', []], ['uuid', 'i-old'], ['map', []]],
    ]),
    _doc(['_uuid', 'name', 'external_ids', 'mtu', 'mtu_request'], [
        [['uuid', 'i-br0'], 'br0', ['map', []], 1500, 1450],
        [['uuid', 'i-vo1'], 'vo1', ['map', [['container_id', 'web'], ['container_iface', 'eth1']]], 1450, ['set', []]],
        [['uuid', 'i-old'], 'abc_l', ['map', [['container_id', 'web'], ['container_iface', 'eth2']]], ['set', []],
         ['set', []]],
    ]),
]) + '\n'


def test_parse_snapshot():
    snap = ca.parse_snapshot(SNAPSHOT)
    assert {name: (b['mtu'], b['mtu_request']) for name, b in snap['bridges'].items()} == \
        {'br0': (1500, 1450), 'br1': (None, None)}
    vo1 = snap['ports']['vo1']
    assert (vo1['bridge'], vo1['tag'], vo1['interface_names'], vo1['other_config']) == ('br0', 100, ['vo1'], EDGE)
    assert snap['ports']['abc_l']['bridge'] == 'br1' and snap['ports']['abc_l']['tag'] is None
    assert snap['ports']['abc_l']['other_config'] == {}
    assert snap['interfaces']['vo1']['external_ids'] == {'container_id': 'web', 'container_iface': 'eth1'}
    assert snap['interfaces']['abc_l']['mtu'] is None and snap['interfaces']['vo1']['mtu_request'] is None


def test_ports_for_matches_ovs_docker_keys():
    snap = ca.parse_snapshot(SNAPSHOT)
    assert ca.ports_for(snap, {'web', CID}, 'eth1') == ['vo1']
    assert ca.ports_for(snap, {'web'}, 'eth2') == ['abc_l']
    assert ca.ports_for(snap, {'db'}, 'eth1') == []


def test_dead_ports_only_those_whose_netdev_is_gone():
    snap = ca.parse_snapshot(SNAPSHOT)
    assert ca.dead_ports(snap, {'web', CID}, lambda name: False) == ['abc_l', 'vo1']
    assert ca.dead_ports(snap, {'web'}, lambda name: name == 'vo1') == ['abc_l']
    assert ca.dead_ports(snap, {'db'}, lambda name: False) == []


class _Runner:
    """Stands in for AnsibleModule / the daemon's runner at the process boundary."""

    def __init__(self, rc, out, err=''):
        self.result, self.calls = (rc, out, err), []

    def run_command(self, argv, environ_update=None):
        self.calls.append((argv, environ_update))
        return self.result


def test_read_snapshot_one_call_and_error():
    runner = _Runner(0, SNAPSHOT)
    snap, error = ca.read_snapshot(runner, '/usr/bin/ovs-vsctl')
    assert error is None and 'br0' in snap['bridges']
    argv, env = runner.calls[0]
    assert len(runner.calls) == 1 and argv[0] == '/usr/bin/ovs-vsctl' and env == {'LANG': 'C', 'LC_ALL': 'C'}
    assert argv.count('list') == 3 and '--columns=_uuid,name,tag,interfaces,other_config' in argv
    snap, error = ca.read_snapshot(_Runner(1, '', 'database connection failed\n'), 'ovs-vsctl')
    assert snap is None and error == 'database connection failed'


# --- persistence records ----------------------------------------------------------------------

def test_persist_only_for_containers_with_recordable_names():
    with pytest.raises(ValueError, match='^persist: only for a container'):
        ca.validate_params(params(container=None, netns='blue', persist=True))
    with pytest.raises(ValueError, match='^container: .*cannot name a persistence record'):
        ca.validate_params(params(container='../etc', persist=True))
    assert ca.validate_params(params(container=CID[:12], persist=True))['ifname'] == 'eth1'


def test_record_name():
    assert ca.record_name('web', 'eth1') == 'web@eth1.json'
    for bad in ('', '-x', 'a/b', 'a@b', None):
        with pytest.raises(ValueError, match='^container: '):
            ca.record_name(bad, 'eth1')


def test_record_text_is_normalised_and_round_trips():
    p = params(address=['10.0.0.3/24', '10.0.0.2/24'], mac='02-AA-BB-CC-DD-EE', vlan=100, persist=True,
               gateway=['10.0.0.1'])
    text = ca.record_text(p, ca.validate_params(p))
    same = params(address=['10.0.0.2/24', '10.0.0.3/24'], mac='02:aa:bb:cc:dd:ee', vlan=100, persist=True,
                  gateway=['10.0.0.1'])
    assert text == ca.record_text(same, ca.validate_params(same))
    restored = ca.record_params(json.loads(text))
    assert restored == dict(same, address=['10.0.0.2/24', '10.0.0.3/24'])
    assert ca.record_text(restored, ca.validate_params(restored)) == text
    assert ca.record_text(params(persist=True), ca.validate_params(params(persist=True))) != text


@pytest.mark.parametrize('record, message', [
    ([], 'not an attachment record'),
    ({'version': 99, 'attachment': {}}, 'not an attachment record of version 1'),
    ({'version': 1, 'attachment': {'container': 'web'}}, 'lacks docker_host'),
])
def test_record_params_refuses(record, message):
    with pytest.raises(ValueError, match=message):
        ca.record_params(record)


def test_load_records_skips_bad_and_temporary_files(tmp_path):
    good = params(vlan=100, persist=True)
    (tmp_path / 'web@eth1.json').write_text(ca.record_text(good, ca.validate_params(good)))
    (tmp_path / 'bad@eth1.json').write_text('{"version": 1')
    bad_vlan = json.loads(ca.record_text(good, ca.validate_params(good)))
    bad_vlan['attachment']['vlan'] = 5000
    (tmp_path / 'vlan@eth1.json').write_text(json.dumps(bad_vlan))
    (tmp_path / '.ansible_tmp123web@eth1.json').write_text('{')  # atomic_move's, across file systems
    (tmp_path / 'notes.txt').write_text('{')
    records, errors = ca.load_records(str(tmp_path))
    assert [(path.rsplit('/', 1)[1], p['vlan']) for path, p in records] == [('web@eth1.json', 100)]
    assert sorted(path.rsplit('/', 1)[1] for path, _msg in errors) == ['bad@eth1.json', 'vlan@eth1.json']
    assert 'vlan: 5000 is out of range' in dict(errors)[str(tmp_path / 'vlan@eth1.json')]
    assert ca.load_records(str(tmp_path / 'missing')) == ([], [])


def test_record_matches_by_name_or_id():
    assert ca.record_matches(params(container='web'), CID, 'web')
    assert not ca.record_matches(params(container='web'), CID, 'db')
    assert ca.record_matches(params(container=CID), CID, 'web')
    assert ca.record_matches(params(container=CID[:12]), CID, 'web')
    # Short hex strings are names, not id prefixes (a container called "9c5" is not every 9c5... id).
    assert not ca.record_matches(params(container=CID[:3]), CID, 'web')
    assert not ca.keyed_by_id('web', CID) and ca.keyed_by_id(CID[:12], CID)
    assert not ca.keyed_by_id(CID[:12], None)
