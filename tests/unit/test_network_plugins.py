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


# --- vpc_existing: adopting a VPC that is someone else's -------------------------------------------------------------

DEFAULT_VPC = {"id": "vpc-0a1b2c3d", "cidr_block": "172.31.0.0/16", "is_default": True, "tags": {}}
ADOPT_ZONES = ["us-east-2a", "us-east-2b", "us-east-2c"]
ADOPT_PUBLIC = [{"cidr": "172.31.0.0/20", "az": "a"}, {"cidr": "172.31.16.0/20", "az": "b"}]
ADOPT_PRIVATE = [{"cidr": "172.31.48.0/20", "az": "a"}, {"cidr": "172.31.64.0/20", "az": "b"}]
DEFAULT_SUBNETS = [
    {"id": "subnet-a", "cidr_block": "172.31.0.0/20", "availability_zone": "us-east-2a", "tags": {}},
    {"id": "subnet-b", "cidr_block": "172.31.16.0/20", "availability_zone": "us-east-2b", "tags": {"team": "web"}},
    {"id": "subnet-c", "cidr_block": "172.31.32.0/20", "availability_zone": "us-east-2c", "tags": {}},
]
MAIN_TABLE = {"id": "rtb-main", "associations": [{"main": True, "route_table_id": "rtb-main"}],
              "routes": [{"destination_cidr_block": "172.31.0.0/16", "gateway_id": "local"},
                         {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-default", "state": "active"}]}
DEFAULT_IGW = {"internet_gateway_id": "igw-default", "attachments": [{"vpc_id": "vpc-0a1b2c3d", "state": "available"}]}


def adoption(vpcs=(DEFAULT_VPC,), cidr="172.31.0.0/16", public=ADOPT_PUBLIC, private=ADOPT_PRIVATE, named=(),
             subnets=DEFAULT_SUBNETS, tables=(MAIN_TABLE,), igws=(DEFAULT_IGW,), name="wanzami-vpc"):
    plan = network.vpc_plan(name, ADOPT_ZONES, list(public), list(private), [], "single")
    return network.vpc_adoption(list(vpcs), "default", name, cidr, plan, list(named), list(subnets), list(tables), list(igws))


@pytest.mark.parametrize(("existing", "filters"), [
    ("default", {"is-default": "true"}),
    ("vpc-0123456789abcdef0", {"vpc-id": "vpc-0123456789abcdef0"}),
    ({"Name": "shared-vpc", "team": "platform"}, {"tag:Name": "shared-vpc", "tag:team": "platform"}),
])
def test_existing_filters(existing, filters):
    assert network.vpc_existing_filters(existing) == filters


@pytest.mark.parametrize("existing", ["", "default", "vpc-0123abcd", "vpc-0123456789abcdef0", {"Name": "shared-vpc"}])
def test_valid_existing_values(existing):
    assert network.vpc_layout_errors("172.31.0.0/16", ADOPT_PUBLIC, ADOPT_PRIVATE, [], "single", existing) == []


@pytest.mark.parametrize(("existing", "expected"), [
    ("vpc-xyz", "vpc_existing 'vpc-xyz' must be '' (create the VPC), 'default'"),
    ("Default", "vpc_existing 'Default' must be"),
    ({}, "vpc_existing {} names no tag"),
    ({"Name": ["a", "b"]}, "vpc_existing's tag 'Name': ['a', 'b'] must map a tag key to a text value"),
    (["default"], "vpc_existing ['default'] must be"),
])
def test_bad_existing_values_name_the_variable(existing, expected):
    errors = network.vpc_layout_errors("172.31.0.0/16", ADOPT_PUBLIC, ADOPT_PRIVATE, [], "single", existing)
    assert any(expected in error for error in errors), errors


def test_the_default_vpc_is_adopted_with_its_subnets_and_gateway_as_they_are():
    result = adoption()
    assert result["errors"] == []
    assert result["vpc_id"] == "vpc-0a1b2c3d"
    assert result["subnets"] == {"172.31.0.0/20": {"id": "subnet-a", "tags": {}},
                                 "172.31.16.0/20": {"id": "subnet-b", "tags": {"team": "web"}}}
    assert result["internet_gateway_id"] == "igw-default"
    # The public table would hold only adopted subnets: dropped. The private one is ours.
    assert result["route_tables"] == [{"name": "wanzami-vpc-private", "tier": "private",
                                       "subnet_cidrs": ["172.31.48.0/20", "172.31.64.0/20"], "nat": "wanzami-vpc-nat"}]


def test_a_public_subnet_the_role_creates_keeps_its_public_table():
    result = adoption(public=[ADOPT_PUBLIC[0], {"cidr": "172.31.80.0/20", "az": "b"}])
    assert result["errors"] == []
    assert [(t["name"], t["subnet_cidrs"]) for t in result["route_tables"]] == [
        ("wanzami-vpc-public", ["172.31.80.0/20"]), ("wanzami-vpc-private", ["172.31.48.0/20", "172.31.64.0/20"])]


def test_the_vpc_may_already_carry_our_name():
    assert adoption(vpcs=[dict(DEFAULT_VPC, tags={"Name": "wanzami-vpc", "team": "x"})],
                    named=[dict(DEFAULT_VPC, tags={"Name": "wanzami-vpc"})])["errors"] == []


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"vpcs": []}, "vpc_existing matches no VPC: the region's default VPC (vpc_existing: default) does not exist"),
    ({"vpcs": [DEFAULT_VPC, dict(DEFAULT_VPC, id="vpc-other")]}, "vpc_existing matches 2 VPCs"),
    ({"cidr": "10.0.0.0/16", "public": [{"cidr": "10.0.0.0/20", "az": "a"}, {"cidr": "10.0.16.0/20", "az": "b"}],
      "private": []},
     "vpc_cidr 10.0.0.0/16 differs from the primary CIDR 172.31.0.0/16 of vpc-0a1b2c3d, the region's default VPC "
     "(vpc_existing: default): set vpc_cidr to 172.31.0.0/16"),
    ({"vpcs": [dict(DEFAULT_VPC, tags={"Name": "legacy"})]}, "is already named legacy: set vpc_name to legacy"),
    ({"named": [dict(DEFAULT_VPC, id="vpc-ours")]}, "vpc_name wanzami-vpc is already the Name of vpc-ours"),
    ({"private": [{"cidr": "172.31.32.0/20", "az": "a"}, ADOPT_PRIVATE[1]]},
     "vpc_private_subnets[0].az us-east-2a: subnet subnet-c (172.31.32.0/20) of vpc-0a1b2c3d is in us-east-2c"),
    ({"private": [{"cidr": "172.31.32.0/19", "az": "a"}, ADOPT_PRIVATE[1]]},
     "vpc_private_subnets[0].cidr 172.31.32.0/19 overlaps subnet subnet-c (172.31.32.0/20, us-east-2c)"),
    ({"tables": [dict(MAIN_TABLE, routes=MAIN_TABLE["routes"][:1])]},
     "vpc_public_subnets: subnet subnet-a (172.31.0.0/20) of vpc-0a1b2c3d has no route 0.0.0.0/0 to an internet gateway"),
    ({"tables": [MAIN_TABLE, {"id": "rtb-private", "routes": [], "associations": [{"subnet_id": "subnet-b", "main": False}]}]},
     "subnet subnet-b (172.31.16.0/20) of vpc-0a1b2c3d has no route 0.0.0.0/0 to an internet gateway (route table rtb-private)"),
])
def test_adoption_refusals_name_the_variable(kwargs, expected):
    errors = adoption(**kwargs)["errors"]
    assert any(expected in error for error in errors), errors


def test_an_adopted_vpc_without_gateway_gets_ours_for_subnets_it_creates():
    result = adoption(public=[{"cidr": "172.31.80.0/20", "az": "a"}, {"cidr": "172.31.96.0/20", "az": "b"}], igws=[])
    assert result["errors"] == [] and result["subnets"] == {} and result["internet_gateway_id"] == ""
    assert result["route_tables"][0]["nat"] == "igw"
