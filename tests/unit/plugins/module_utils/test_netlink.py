# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.ovsmesh.overlay.plugins.module_utils import _netlink as nl
from ansible_collections.ovsmesh.overlay.plugins.module_utils._ovs import IFNAME_MAX, validate_name

CID = '9c523a14cfdaad5ed6dc85a9fd6489443a0e6e9cc187739e9e360894436243d4'


# --- naming -----------------------------------------------------------------------------------

def test_host_ifname_is_stable_short_and_valid():
    name = nl.host_ifname(CID, 'eth1')
    assert name == nl.host_ifname(CID, 'eth1')
    assert name.startswith('vo') and len(name) == 14 <= IFNAME_MAX
    assert validate_name(name, 'x') == name


def test_host_ifname_differs_per_container_and_interface():
    names = {nl.host_ifname(CID, 'eth1'), nl.host_ifname(CID, 'eth2'),
             nl.host_ifname(CID[::-1], 'eth1'), nl.host_ifname('netns:' + CID, 'eth1')}
    assert len(names) == 4


def test_host_ifname_parts_cannot_run_together():
    # 'ab' + 'c' and 'a' + 'bc' must not give the same name.
    assert nl.host_ifname('ab', 'c') != nl.host_ifname('a', 'bc')


# --- MAC --------------------------------------------------------------------------------------

def test_derive_mac_is_stable_locally_administered_unicast():
    mac = nl.derive_mac(CID, 'eth1')
    assert mac == nl.derive_mac(CID, 'eth1')
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01
    assert nl.normalise_mac(mac) == mac


def test_derive_mac_differs_per_interface():
    assert nl.derive_mac(CID, 'eth1') != nl.derive_mac(CID, 'eth2')


def test_derive_mac_bits_forced_for_many_ids():
    for n in range(200):
        first = int(nl.derive_mac('id%d' % n, 'eth1')[:2], 16)
        assert first & 0x03 == 0x02


@pytest.mark.parametrize('value, expected', [
    ('02:AB:cd:00:11:22', '02:ab:cd:00:11:22'),
    ('02-ab-cd-00-11-22', '02:ab:cd:00:11:22'),
    ('02abcd001122', '02:ab:cd:00:11:22'),
])
def test_normalise_mac_forms(value, expected):
    assert nl.normalise_mac(value) == expected


@pytest.mark.parametrize('value, message', [
    ('01:00:5e:00:00:01', 'multicast'),
    ('00:00:00:00:00:00', 'not a usable'),
    ('02:ab:cd:00:11', 'not a MAC'),
    ('02:ab-cd:00:11:22', 'not a MAC'),
    ('zz:ab:cd:00:11:22', 'not a MAC'),
])
def test_normalise_mac_refuses(value, message):
    with pytest.raises(ValueError, match='^mac: .*' + message):
        nl.normalise_mac(value)


# --- addresses --------------------------------------------------------------------------------

def test_addresses_normalised_and_sorted():
    assert nl.normalise_addresses(['FD00::0001/64', '10.0.0.2/24', '10.0.0.1/24']) == \
        ['10.0.0.1/24', '10.0.0.2/24', 'fd00::1/64']


@pytest.mark.parametrize('value, message', [
    ('10.0.0.1', 'needs a prefix length'),
    ('10.0.0.300/24', 'not an IPv4/IPv6 address'),
    ('10.0.0.0/24', 'network address'),
    ('10.0.0.255/24', 'broadcast address'),
    ('224.0.0.1/4', 'not a unicast'),
    ('127.0.0.2/8', 'not a unicast'),
    ('10.0.0.1/33', 'not an IPv4/IPv6'),
])
def test_address_refused_with_field(value, message):
    with pytest.raises(ValueError, match='^address: .*' + message):
        nl.normalise_addresses([value])


def test_point_to_point_prefixes_have_no_network_address():
    assert nl.normalise_addresses(['10.0.0.0/31', '10.0.0.7/32']) == ['10.0.0.0/31', '10.0.0.7/32']


def test_duplicate_address_refused():
    with pytest.raises(ValueError, match='given twice'):
        nl.normalise_addresses(['10.0.0.1/24', '10.0.0.1/24'])


def test_gateways_one_per_family():
    assert nl.normalise_gateways(['10.0.0.254', 'FD00::1']) == {4: '10.0.0.254', 6: 'fd00::1'}
    with pytest.raises(ValueError, match='more than one IPv4'):
        nl.normalise_gateways(['10.0.0.1', '10.0.0.2'])
    with pytest.raises(ValueError, match='^gateway: .*no prefix'):
        nl.normalise_gateways(['10.0.0.1/24'])


def test_needs_onlink():
    assert not nl.needs_onlink('10.0.0.254', ['10.0.0.1/24'])
    assert nl.needs_onlink('10.1.0.254', ['10.0.0.1/24'])
    assert nl.needs_onlink('10.0.0.254', ['fd00::1/64'])
    assert not nl.needs_onlink('fe80::1', [])


def test_link_local_detection():
    assert nl.is_link_local('fe80::1/64')
    assert not nl.is_link_local('fd00::1/64')
    assert not nl.is_link_local('169.254.1.1/16')  # IPv4 link-local is not the kernel's own


# --- netlink boundary -------------------------------------------------------------------------

class _NoSuchLink:
    def link(self, *args, **kwargs):
        raise nl.NetlinkError(nl.ENODEV, 'No such device')


class _Broken:
    def link(self, *args, **kwargs):
        raise nl.NetlinkError(1, 'Operation not permitted')


def test_link_state_missing_is_none_other_errors_raise():
    assert nl.link_state(_NoSuchLink(), 'eth1') is None
    with pytest.raises(nl.NetlinkError):
        nl.link_state(_Broken(), 'eth1')
