"""The first run meets a running system: the vpc role adopts the account's default VPC
(vpc_existing: default, seed 000's network), judged by what the emulator holds.

Before anything runs, the owner's VPC is made to look lived in (a tag of theirs, DNS hostnames
off, one default subnet with a Name of theirs and no public IPs on launch): the role must leave
all of that as it is. It then runs site.yml --tags vpc with the default subnets of us-east-2a and
us-east-2b as the public ones and two new private subnets behind one NAT gateway: it merges only
the Name tag onto the VPC and Name/tier onto the subnets it uses as they are, and tags as ours
(project, environment, managed-by) only what it creates. The other roles find the VPC and the
subnets by those tags when run alone. What cannot be adopted as it is is refused before any
change. Teardown removes what is ours and keeps the VPC, its gateway and the default subnets."""

import json

import pytest

from tests.conftest import run_playbook

pytestmark = pytest.mark.system

SITE, TEARDOWN = "playbooks/site.yml", "playbooks/teardown.yml"
NAME = "wanzami-local-vpc"
OURS = {"project": "wanzami", "environment": "local", "managed-by": "ansible"}
THEIRS = {"team": "platform"}
PUBLIC = {"172.31.0.0/20": "us-east-2a", "172.31.16.0/20": "us-east-2b"}
PRIVATE = {"172.31.48.0/20": "us-east-2a", "172.31.64.0/20": "us-east-2b"}
INVENTORY = {
    "vpc_existing": "default",
    "vpc_public_subnets": [{"cidr": c, "az": z} for c, z in PUBLIC.items()],
    "vpc_private_subnets": [{"cidr": c, "az": z} for c, z in PRIVATE.items()],
    "vpc_nat_mode": "single",
}
BEFORE = {}


def said(run, text):
    return " ".join(text.split()) in " ".join(run.output.split())


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def snapshot(ec2):
    """What the owner's default VPC holds, as DescribeVpcs/Subnets/RouteTables/InternetGateways answer."""
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    attributes = {a: ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=a)[a[0].upper() + a[1:]]["Value"]
                  for a in ("enableDnsSupport", "enableDnsHostnames")}
    subnets = {s["CidrBlock"]: s for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]}
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    (main,) = [t for t in tables if any(a.get("Main") for a in t["Associations"])]
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    return {"vpc": vpc, "attributes": attributes, "subnets": subnets, "tables": tables, "main": main, "igws": igws,
            "vpc_count": len(ec2.describe_vpcs()["Vpcs"])}


@pytest.fixture(scope="module")
def args(tmp_path_factory):
    path = tmp_path_factory.mktemp("adopt") / "inventory.json"
    path.write_text(json.dumps(INVENTORY))
    return ["-e", f"@{path}"]


def site(emulator, args, *more, check=True):
    return run_playbook(SITE, "--tags", "vpc", *args, *more, env=emulator.env(), check=check)


def test_the_default_vpc_is_found_as_aws_makes_it_and_a_dry_run_only_reads(emulator, args):
    ec2 = emulator.client("ec2")
    found = snapshot(ec2)
    assert found["vpc"]["CidrBlock"] == "172.31.0.0/16"
    assert {c: s["AvailabilityZone"] for c, s in found["subnets"].items()} == {
        "172.31.0.0/20": "us-east-2a", "172.31.16.0/20": "us-east-2b", "172.31.32.0/20": "us-east-2c"}
    assert [i["InternetGatewayId"] for i in found["igws"]] == [
        r["GatewayId"] for r in found["main"]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    # The owner has lived in it: their tag, DNS hostnames off, a subnet named by them without public IPs.
    ec2.create_tags(Resources=[found["vpc"]["VpcId"]], Tags=[{"Key": k, "Value": v} for k, v in THEIRS.items()])
    ec2.modify_vpc_attribute(VpcId=found["vpc"]["VpcId"], EnableDnsHostnames={"Value": False})
    legacy = found["subnets"]["172.31.16.0/20"]["SubnetId"]
    ec2.create_tags(Resources=[legacy], Tags=[{"Key": "Name", "Value": "legacy-b"}])
    ec2.modify_subnet_attribute(SubnetId=legacy, MapPublicIpOnLaunch={"Value": False})
    BEFORE.update(snapshot(ec2))

    emulator.clear_recording()
    run = site(emulator, args, "--check", "--diff")
    assert run.failed == 0 and run.changed > 0, run
    assert emulator.mutating_calls() == []
    assert snapshot(ec2) == BEFORE


def test_it_adopts_the_default_vpc_and_adds_only_its_own_parts(emulator, args):
    ec2 = emulator.client("ec2")
    run = site(emulator, args)
    assert said(run, f"Adopting VPC {BEFORE['vpc']['VpcId']} (172.31.0.0/16, vpc_existing)"), run
    now = snapshot(ec2)
    vpc_id = BEFORE["vpc"]["VpcId"]

    # No second VPC; the owner's keeps its attributes and tags, and gets our Name only.
    assert now["vpc_count"] == BEFORE["vpc_count"]
    assert now["vpc"]["VpcId"] == vpc_id and now["attributes"] == BEFORE["attributes"] == {
        "enableDnsSupport": True, "enableDnsHostnames": False}
    assert tags(now["vpc"]) == {**THEIRS, "Name": NAME}

    # The default subnets: only tier (and a Name where they had none); no ownership tag, same public IP setting.
    for cidr in PUBLIC:
        before, after = BEFORE["subnets"][cidr], now["subnets"][cidr]
        assert after["SubnetId"] == before["SubnetId"]
        assert after["MapPublicIpOnLaunch"] == before["MapPublicIpOnLaunch"]
        assert tags(after) == {"Name": tags(before).get("Name", f"{NAME}-public-{PUBLIC[cidr]}"), "tier": "public"}
    assert now["subnets"]["172.31.16.0/20"]["MapPublicIpOnLaunch"] is False
    assert tags(now["subnets"]["172.31.16.0/20"])["Name"] == "legacy-b"
    # The one the inventory does not list is left alone.
    assert now["subnets"]["172.31.32.0/20"] == BEFORE["subnets"]["172.31.32.0/20"]

    # Routing of the owner's: same main table, same routes, same gateway; the default subnets still use the main table.
    assert now["main"] == BEFORE["main"] and now["igws"] == BEFORE["igws"]
    explicit = {a["SubnetId"] for t in now["tables"] for a in t["Associations"] if a.get("SubnetId")}
    assert not explicit & {now["subnets"][c]["SubnetId"] for c in PUBLIC}

    # Ours: the private subnets, the NAT gateway (in the first default subnet) and its address, the private table.
    private_ids = {now["subnets"][c]["SubnetId"] for c in PRIVATE}
    for cidr, zone in PRIVATE.items():
        subnet = now["subnets"][cidr]
        assert subnet["AvailabilityZone"] == zone and not subnet["MapPublicIpOnLaunch"]
        assert tags(subnet) == {**OURS, "Name": f"{NAME}-private-{zone}", "tier": "private"}
    (nat,) = [n for n in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
              if n["State"] == "available"]
    assert nat["SubnetId"] == now["subnets"]["172.31.0.0/20"]["SubnetId"]
    assert tags(nat) == {**OURS, "Name": f"{NAME}-nat"}
    (address,) = ec2.describe_addresses(AllocationIds=[nat["NatGatewayAddresses"][0]["AllocationId"]])["Addresses"]
    assert tags(address) == {**OURS, "Name": f"{NAME}-nat-eip"}
    ours = [t for t in now["tables"] if t not in BEFORE["tables"]]
    assert [tags(t) for t in ours] == [{**OURS, "Name": f"{NAME}-private", "tier": "private"}]
    assert {a["SubnetId"] for a in ours[0]["Associations"]} == private_ids
    default_routes = [r for r in ours[0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r.get("NatGatewayId") for r in default_routes] == [nat["NatGatewayId"]]


def test_a_second_run_changes_nothing_and_a_dry_run_only_reads(emulator, args):
    again = site(emulator, args)
    assert again.changed == 0, again
    emulator.clear_recording()
    dry = site(emulator, args, "--check", "--diff")
    assert dry.changed == 0, dry
    assert emulator.mutating_calls() == []


def test_the_next_role_run_alone_finds_the_adopted_vpc_by_its_tags(emulator, args):
    run_playbook(SITE, "--tags", "security_groups", *args, env=emulator.env())
    groups = emulator.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["wanzami-local-alb"]}])["SecurityGroups"]
    assert [g["VpcId"] for g in groups] == [BEFORE["vpc"]["VpcId"]]


@pytest.mark.parametrize(("extra", "expected"), [
    ({"vpc_cidr": "10.0.0.0/16", "vpc_public_subnets": [{"cidr": "10.0.0.0/20", "az": "a"}, {"cidr": "10.0.16.0/20", "az": "b"}],
      "vpc_private_subnets": [{"cidr": "10.0.48.0/20", "az": "a"}, {"cidr": "10.0.64.0/20", "az": "b"}]},
     ["vpc_cidr 10.0.0.0/16 differs from the primary CIDR 172.31.0.0/16 of", "set vpc_cidr to 172.31.0.0/16"]),
    ({"vpc_private_subnets": [{"cidr": "172.31.32.0/20", "az": "a"}, {"cidr": "172.31.64.0/20", "az": "b"}]},
     ["vpc_private_subnets[0].az us-east-2a: subnet", "(172.31.32.0/20) of", "is in us-east-2c"]),
    ({"vpc_name": "other-vpc"}, [f"is already named {NAME}: set vpc_name to {NAME}"]),
    ({"vpc_existing": {"Name": "shared-vpc"}}, ["vpc_existing matches no VPC: VPCs tagged Name=shared-vpc (vpc_existing)"]),
])
def test_what_cannot_be_adopted_as_it_is_is_refused_before_any_change(emulator, args, extra, expected):
    before = snapshot(emulator.client("ec2"))
    emulator.clear_recording()
    run = site(emulator, args, "-e", json.dumps(extra), check=False)
    assert run.rc != 0 and run.failed == 1, run
    for text in expected:
        assert said(run, text), run
    assert said(run, "Nothing was changed.")
    assert emulator.mutating_calls() == []
    assert snapshot(emulator.client("ec2")) == before


def test_teardown_removes_ours_and_keeps_the_default_vpc(emulator, args):
    ec2 = emulator.client("ec2")
    vpc_id = BEFORE["vpc"]["VpcId"]
    # Only the two roles that made something here (the others' teardowns would find nothing).
    args = ["--tags", "security_groups,vpc", *args]
    emulator.clear_recording()
    run_playbook(TEARDOWN, *args, "--check", env=emulator.env())
    assert emulator.mutating_calls() == []

    run = run_playbook(TEARDOWN, *args, env=emulator.env())
    assert said(run, f"VPC {vpc_id} is adopted (vpc_existing), not ours: kept"), run
    after = snapshot(ec2)
    # The owner's: the VPC with its attributes, gateway, main table and the three default subnets.
    assert after["vpc_count"] == BEFORE["vpc_count"] and after["attributes"] == BEFORE["attributes"]
    assert after["main"] == BEFORE["main"] and after["igws"] == BEFORE["igws"]
    assert set(after["subnets"]) == set(BEFORE["subnets"])
    assert {c: s["SubnetId"] for c, s in after["subnets"].items()} == {c: s["SubnetId"] for c, s in BEFORE["subnets"].items()}
    assert [t["RouteTableId"] for t in after["tables"]] == [t["RouteTableId"] for t in BEFORE["tables"]]
    # Ours is gone: NAT gateway, its address, the security groups.
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
    assert {n["State"] for n in nats} <= {"deleted"}
    assert [a for a in ec2.describe_addresses()["Addresses"] if tags(a).get("Name", "").startswith(NAME)] == []
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    again = run_playbook(TEARDOWN, *args, env=emulator.env())
    assert again.changed == 0, again
