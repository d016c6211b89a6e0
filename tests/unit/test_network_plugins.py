"""Unit tests of the offline network validation and planning plugins."""

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, PLUGINS / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


network = load("filter/network.py", "wanzami_filter_network")
network_test = load("test/network.py", "wanzami_test_network")

PUBLIC = [{"cidr": "10.0.1.0/24", "az": "a"}, {"cidr": "10.0.2.0/24", "az": "b"}]
PRIVATE = [{"cidr": "10.0.10.0/24", "az": "a"}, {"cidr": "10.0.11.0/24", "az": "b"}]
ZONES = ["us-east-1b", "us-east-1a", "us-east-1c"]


def test_seed_003_layout_is_valid_in_every_nat_mode():
    for mode in ("none", "single", "per_az"):
        assert network.vpc_layout_errors("10.0.0.0/16", PUBLIC, PRIVATE, [], mode) == []


@pytest.mark.parametrize(
    ("cidr", "public", "private", "mode", "expected"),
    [
        ("10.0.0.0", PUBLIC, PRIVATE, "single", "vpc_cidr '10.0.0.0' has host bits set"),
        ("banana", PUBLIC, PRIVATE, "single", "vpc_cidr 'banana' is not a CIDR block"),
        ("10.0.0.0/8", PUBLIC, PRIVATE, "single", "vpc_cidr '10.0.0.0/8' must have a prefix between /16 and /28"),
        ("fd00::/56", PUBLIC, PRIVATE, "single", "must be an IPv4 CIDR block"),
        ("10.0.0.0/16", PUBLIC[:1], PRIVATE, "single", "vpc_public_subnets must span at least two availability zones"),
        ("10.0.0.0/16", PUBLIC, PRIVATE[:1], "single", "vpc_private_subnets must be empty or span at least two"),
        ("10.0.0.0/16", PUBLIC, [], "single", "vpc_nat_mode single needs vpc_private_subnets"),
        ("10.0.0.0/16", PUBLIC, PRIVATE, "double", "vpc_nat_mode 'double' must be one of none, single, per_az"),
        ("10.0.0.0/16", PUBLIC, [{"cidr": "10.0.1.128/25", "az": "a"}, {"cidr": "10.0.11.0/24", "az": "b"}], "none",
         "vpc_private_subnets[0].cidr 10.0.1.128/25 overlaps vpc_public_subnets[0].cidr 10.0.1.0/24"),
        ("10.0.0.0/16", PUBLIC, [{"cidr": "10.1.0.0/24", "az": "a"}, {"cidr": "10.0.11.0/24", "az": "b"}], "none",
         "vpc_private_subnets[0].cidr 10.1.0.0/24 is outside vpc_cidr 10.0.0.0/16"),
        ("10.0.0.0/16", PUBLIC, PRIVATE + [{"cidr": "10.0.12.0/24", "az": "c"}], "per_az",
         "needs a public subnet in every availability zone that has a private subnet; missing: c"),
        ("10.0.0.0/16", PUBLIC, [{"cidr": "10.0.12.0/24"}], "none",
         "vpc_private_subnets[0] must be a mapping with 'cidr' and 'az'"),
        ("10.0.0.0/16", "10.0.1.0/24", [], "none", "vpc_public_subnets must be a list"),
    ],
)
def test_layout_errors_name_the_variable(cidr, public, private, mode, expected):
    errors = network.vpc_layout_errors(cidr, public, private, [], mode)
    assert any(expected in error for error in errors), errors


def test_plan_single_nat_routes_every_private_subnet_through_one_gateway():
    plan = network.vpc_plan("v", ZONES, PUBLIC, PRIVATE, [{"cidr": "10.0.20.0/24", "az": "us-east-1a"},
                                                         {"cidr": "10.0.21.0/24", "az": "c"}], "single")
    assert [(s["name"], s["cidr"]) for s in plan["subnets"]] == [
        ("v-public-us-east-1a", "10.0.1.0/24"), ("v-public-us-east-1b", "10.0.2.0/24"),
        ("v-private-us-east-1a", "10.0.10.0/24"), ("v-private-us-east-1b", "10.0.11.0/24"),
        ("v-database-us-east-1a", "10.0.20.0/24"), ("v-database-us-east-1c", "10.0.21.0/24"),
    ]
    assert plan["nat_gateways"] == [{"name": "v-nat", "az": "us-east-1a", "subnet_cidr": "10.0.1.0/24"}]
    assert plan["route_tables"] == [
        {"name": "v-public", "tier": "public", "subnet_cidrs": ["10.0.1.0/24", "10.0.2.0/24"], "nat": "igw"},
        {"name": "v-private", "tier": "private", "subnet_cidrs": ["10.0.10.0/24", "10.0.11.0/24"], "nat": "v-nat"},
        {"name": "v-database", "tier": "database", "subnet_cidrs": ["10.0.20.0/24", "10.0.21.0/24"], "nat": None},
    ]


def test_plan_per_az_gives_each_zone_its_own_gateway_and_table():
    plan = network.vpc_plan("v", ZONES, PUBLIC, PRIVATE, [], "per_az")
    assert [(n["name"], n["subnet_cidr"]) for n in plan["nat_gateways"]] == [
        ("v-nat-us-east-1a", "10.0.1.0/24"), ("v-nat-us-east-1b", "10.0.2.0/24")]
    private = [t for t in plan["route_tables"] if t["tier"] == "private"]
    assert [(t["name"], t["subnet_cidrs"], t["nat"]) for t in private] == [
        ("v-private-us-east-1a", ["10.0.10.0/24"], "v-nat-us-east-1a"),
        ("v-private-us-east-1b", ["10.0.11.0/24"], "v-nat-us-east-1b"),
    ]


def test_plan_without_nat_isolates_private_subnets():
    plan = network.vpc_plan("v", ZONES, PUBLIC, PRIVATE, [], "none")
    assert plan["nat_gateways"] == []
    assert [t["nat"] for t in plan["route_tables"]] == ["igw", None]


def test_plan_rejects_a_zone_of_another_region():
    with pytest.raises(AnsibleFilterError, match=r"vpc_public_subnets\[1\].az 'eu-west-1b' is not an available zone"):
        network.vpc_plan("v", ZONES, [PUBLIC[0], {"cidr": "10.0.2.0/24", "az": "eu-west-1b"}], [], [], "none")


@pytest.mark.parametrize(
    ("value", "version", "expected"),
    [
        ("0.0.0.0/0", 4, True), ("173.245.48.0/20", 4, True), ("2400:cb00::/32", 6, True),
        ("2400:cb00::/32", 4, False), ("0.0.0.0", None, False), ("10.0.0.1/16", None, False), ("x", None, False),
    ],
)
def test_cidr_test(value, version, expected):
    assert network_test.cidr(value, version) is expected
