# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests for network input validation."""

import ipaddress


def cidr(value, version=None):
    """True when value is a CIDR block without host bits (of IP version 4 or 6 when given)."""
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return False
    return "/" in str(value) and (version is None or net.version == int(version))


class TestModule:
    def tests(self):
        return {"cidr": cidr}
