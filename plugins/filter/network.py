# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline validation of a VPC layout, so bad input fails before any AWS call."""

import ipaddress
import re

from ansible.errors import AnsibleFilterError

NAT_MODES = ("none", "single", "per_az")
# AWS accepts VPC and subnet blocks between /16 and /28.
MIN_PREFIX = 16
MAX_PREFIX = 28
TIERS = ("public", "private", "database")


def _network(value, name, errors):
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        errors.append(f"{name} {value!r} is not a CIDR block (expected a.b.c.d/n, for example 10.0.0.0/16)")
        return None
    if net.version != 4:
        errors.append(f"{name} {value!r} must be an IPv4 CIDR block")
        return None
    if str(net) != str(value):
        errors.append(f"{name} {value!r} has host bits set: use {net}")
        return None
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        errors.append(f"{name} {value!r} must have a prefix between /{MIN_PREFIX} and /{MAX_PREFIX}")
        return None
    return net


def vpc_layout_errors(vpc_cidr, public, private=None, database=None, nat_mode="single", existing=""):
    """Return a list of human-readable problems with a VPC layout (empty when valid).

    Each subnet is a mapping with ``cidr`` and ``az``. Messages name the
    variable (``vpc_private_subnets[1].cidr``) and say what is allowed.
    ``existing`` is vpc_existing: '', 'default', a VPC id or a mapping of tags.
    """
    errors = []
    _existing_errors(existing, errors)
    vpc = _network(vpc_cidr, "vpc_cidr", errors)
    tiers = {"public": public, "private": private or [], "database": database or []}
    seen = []  # (name, network) of every valid subnet, to find overlaps
    azs = {}
    for tier, subnets in tiers.items():
        var = f"vpc_{tier}_subnets"
        if not isinstance(subnets, list):
            errors.append(f"{var} must be a list of {{cidr, az}} mappings")
            continue
        azs[tier] = set()
        for index, subnet in enumerate(subnets):
            name = f"{var}[{index}]"
            if not isinstance(subnet, dict) or not subnet.get("cidr") or not subnet.get("az"):
                errors.append(f"{name} must be a mapping with 'cidr' and 'az' (for example {{cidr: 10.0.1.0/24, az: a}})")
                continue
            azs[tier].add(str(subnet["az"]))
            net = _network(subnet["cidr"], f"{name}.cidr", errors)
            if net is None:
                continue
            if vpc is not None and not net.subnet_of(vpc):
                errors.append(f"{name}.cidr {net} is outside vpc_cidr {vpc}")
            for other_name, other in seen:
                if net.overlaps(other):
                    errors.append(f"{name}.cidr {net} overlaps {other_name}.cidr {other}")
            seen.append((name, net))

    if nat_mode not in NAT_MODES:
        errors.append(f"vpc_nat_mode {nat_mode!r} must be one of {', '.join(NAT_MODES)}")
    if "public" in azs and len(azs["public"]) < 2:
        errors.append("vpc_public_subnets must span at least two availability zones (an ALB needs two)")
    for tier in ("private", "database"):
        if azs.get(tier) and len(azs[tier]) < 2:
            errors.append(f"vpc_{tier}_subnets must be empty or span at least two availability zones")
    if nat_mode in ("single", "per_az") and not tiers["private"]:
        errors.append(f"vpc_nat_mode {nat_mode} needs vpc_private_subnets (a NAT gateway serves private subnets)")
    if nat_mode == "per_az" and "public" in azs and "private" in azs:
        missing = sorted(azs["private"] - azs["public"])
        if missing:
            errors.append(
                "vpc_nat_mode per_az needs a public subnet in every availability zone that has a private subnet; "
                f"missing: {', '.join(missing)}"
            )
    return errors


def _zone(az, zones, name):
    """Resolve a zone name or a bare letter against the region's zones."""
    if az in zones:
        return az
    for zone in zones:
        if len(az) == 1 and zone[-1:] == az and zone[:-1] == zones[0][:-1]:
            return zone
    raise AnsibleFilterError(f"{name} {az!r} is not an available zone of this region (available: {', '.join(zones)})")


def vpc_plan(vpc_name, zones, public, private=None, database=None, nat_mode="single"):
    """Turn the vpc role's inputs into the resources to ensure, named deterministically.

    ``zones`` are the region's available zone names (amazon.aws.aws_az_info).
    Returns ``subnets`` ({tier, cidr, az, name}), ``nat_gateways`` ({name, az,
    subnet_cidr}) and ``route_tables`` ({name, tier, subnet_cidrs, nat}), where
    ``nat`` names the NAT gateway that the table's default route goes to, or is
    ``igw`` for the public table and null for isolated tables.
    """
    zones = sorted(zones)
    if not zones:
        raise AnsibleFilterError("the region reports no available zone")
    tiers = {"public": public or [], "private": private or [], "database": database or []}
    subnets = []
    for tier in TIERS:
        for index, subnet in enumerate(tiers[tier]):
            az = _zone(str(subnet["az"]), zones, f"vpc_{tier}_subnets[{index}].az")
            subnets.append({"tier": tier, "cidr": str(subnet["cidr"]), "az": az, "name": f"{vpc_name}-{tier}-{az}"})

    def of(tier):
        return [s for s in subnets if s["tier"] == tier]

    nat_gateways = []
    if nat_mode == "single" and of("private"):
        first = of("public")[0]
        nat_gateways.append({"name": f"{vpc_name}-nat", "az": first["az"], "subnet_cidr": first["cidr"]})
    elif nat_mode == "per_az":
        for az in sorted({s["az"] for s in of("private")}):
            home = [s for s in of("public") if s["az"] == az]
            if not home:
                raise AnsibleFilterError(f"vpc_nat_mode per_az needs a public subnet in {az}")
            nat_gateways.append({"name": f"{vpc_name}-nat-{az}", "az": az, "subnet_cidr": home[0]["cidr"]})

    route_tables = [{"name": f"{vpc_name}-public", "tier": "public",
                     "subnet_cidrs": [s["cidr"] for s in of("public")], "nat": "igw"}]
    if of("private"):
        if nat_mode == "per_az":
            for nat in nat_gateways:
                route_tables.append({"name": f"{vpc_name}-private-{nat['az']}", "tier": "private",
                                     "subnet_cidrs": [s["cidr"] for s in of("private") if s["az"] == nat["az"]],
                                     "nat": nat["name"]})
        else:
            route_tables.append({"name": f"{vpc_name}-private", "tier": "private",
                                 "subnet_cidrs": [s["cidr"] for s in of("private")],
                                 "nat": nat_gateways[0]["name"] if nat_gateways else None})
    if of("database"):
        route_tables.append({"name": f"{vpc_name}-database", "tier": "database",
                             "subnet_cidrs": [s["cidr"] for s in of("database")], "nat": None})
    return {"subnets": subnets, "nat_gateways": nat_gateways, "route_tables": route_tables}


VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")


def _existing_errors(existing, errors):
    if existing in (None, "", "default") or isinstance(existing, str) and VPC_ID.match(existing):
        return
    if isinstance(existing, dict):
        if not existing:
            errors.append("vpc_existing {} names no tag: give at least one, for example {Name: shared-vpc}, "
                          "or '' to create the VPC")
        for key, value in existing.items():
            if not isinstance(key, str) or not key or not isinstance(value, (str, int, float)) or isinstance(value, bool):
                errors.append(f"vpc_existing's tag {key!r}: {value!r} must map a tag key to a text value")
        return
    errors.append(f"vpc_existing {existing!r} must be '' (create the VPC), 'default' (the region's default VPC), "
                  "a VPC id (vpc-0123456789abcdef0) or a mapping of tags ({Name: shared-vpc})")


def vpc_existing_filters(existing):
    """DescribeVpcs filters that find the VPC vpc_existing names ('default', an id, or tags)."""
    if existing == "default":
        return {"is-default": "true"}
    if isinstance(existing, str) and existing:
        # A filter, not VpcIds: an unknown id then finds nothing, instead of failing the describe call.
        return {"vpc-id": existing}
    if isinstance(existing, dict) and existing:
        return {f"tag:{key}": str(value) for key, value in existing.items()}
    raise AnsibleFilterError("vpc_existing_filters: vpc_existing names no VPC to adopt")


def _describe_existing(existing):
    if existing == "default":
        return "the region's default VPC (vpc_existing: default)"
    if isinstance(existing, dict):
        tags = ", ".join(f"{k}={v}" for k, v in existing.items())
        return f"VPCs tagged {tags} (vpc_existing)"
    return f"VPC {existing} (vpc_existing)"


def _tags(resource):
    tags = resource.get("tags") or {}
    if isinstance(tags, list):
        tags = {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return tags


def _internet_route(table):
    return any(r.get("destination_cidr_block") == "0.0.0.0/0" and str(r.get("gateway_id") or "").startswith("igw-")
               and r.get("state", "active") != "blackhole" for r in table.get("routes") or [])


def vpc_adoption(vpcs, existing, vpc_name, vpc_cidr, plan, named_vpcs=None, subnets=None, route_tables=None,
                 internet_gateways=None):
    """Check a VPC to adopt against the inventory and say what of it is used as it is.

    ``vpcs`` are the VPCs vpc_existing matches, ``named_vpcs`` those already tagged Name=vpc_name,
    ``subnets``, ``route_tables`` and ``internet_gateways`` what the matched VPC holds (the
    amazon.aws *_info modules' results), ``plan`` vpc_plan's. Returns ``errors`` (empty when the
    VPC can be adopted; nothing has been changed yet), ``vpc_id``, ``subnets`` (inventory CIDR ->
    the existing subnet, used as it is: id, tags), ``internet_gateway_id`` (the attached one, or
    '') and ``route_tables``: the plan's, for the subnets the role creates only (a table left
    with none is dropped: an adopted subnet keeps its routing).
    """
    errors = []
    result = {"errors": errors, "vpc_id": "", "subnets": {}, "internet_gateway_id": "", "route_tables": []}
    what = _describe_existing(existing)
    if len(vpcs) != 1:
        found = ", ".join(f"{v['id']} ({v.get('cidr_block')})" for v in vpcs)
        errors.append(f"vpc_existing matches no VPC: {what} does not exist in this region" if not vpcs else
                      f"vpc_existing matches {len(vpcs)} VPCs ({found}): {what} must match exactly one")
        return result
    vpc = vpcs[0]
    result["vpc_id"] = vpc["id"]
    if vpc.get("cidr_block") != vpc_cidr:
        errors.append(f"vpc_cidr {vpc_cidr} differs from the primary CIDR {vpc.get('cidr_block')} of {vpc['id']}, "
                      f"{what}: set vpc_cidr to {vpc.get('cidr_block')}")
    name = _tags(vpc).get("Name")
    if name is not None and name != vpc_name:
        errors.append(f"{vpc['id']}, {what}, is already named {name}: set vpc_name to {name} "
                      f"(the other roles find the VPC by that Name tag)")
    others = sorted(v["id"] for v in named_vpcs or [] if v["id"] != vpc["id"])
    if others:
        errors.append(f"vpc_name {vpc_name} is already the Name of {', '.join(others)}: the other roles would find "
                      f"two VPCs by that name; adopt that one with vpc_existing, or rename one of them")

    existing_subnets = list(subnets or [])
    by_cidr = {s["cidr_block"]: s for s in existing_subnets}
    index = {}
    for planned in plan["subnets"]:
        tier = planned["tier"]
        position = index[tier] = index.get(tier, -1) + 1
        label = f"vpc_{tier}_subnets[{position}]"
        found = by_cidr.get(planned["cidr"])
        if found is not None:
            if found.get("availability_zone") != planned["az"]:
                errors.append(f"{label}.az {planned['az']}: subnet {found['id']} ({planned['cidr']}) of {vpc['id']} "
                              f"is in {found.get('availability_zone')}; set {label}.az to it, or choose another cidr")
                continue
            result["subnets"][planned["cidr"]] = {"id": found["id"], "tags": _tags(found)}
            continue
        net = ipaddress.ip_network(planned["cidr"])
        for other in existing_subnets:
            if net.overlaps(ipaddress.ip_network(other["cidr_block"])):
                errors.append(f"{label}.cidr {planned['cidr']} overlaps subnet {other['id']} ({other['cidr_block']}, "
                              f"{other.get('availability_zone')}) of {vpc['id']}: give its exact cidr to use it as it "
                              f"is, or a free block")

    tables = list(route_tables or [])
    main = next((t for t in tables if any(a.get("main") for a in t.get("associations") or [])), None)
    for planned in plan["subnets"]:
        adopted = result["subnets"].get(planned["cidr"])
        if planned["tier"] != "public" or adopted is None:
            continue
        table = next((t for t in tables if any(a.get("subnet_id") == adopted["id"] for a in t.get("associations") or [])),
                     main)
        if table is None or not _internet_route(table):
            where = f"route table {table['id']}" if table else "no route table"
            errors.append(f"vpc_public_subnets: subnet {adopted['id']} ({planned['cidr']}) of {vpc['id']} has no route "
                          f"0.0.0.0/0 to an internet gateway ({where}): the role never changes an adopted subnet's "
                          f"routing; add that route, or list the subnet in another tier")

    attached = [g for g in internet_gateways or []
                if any(a.get("vpc_id") == vpc["id"] for a in g.get("attachments") or [])]
    result["internet_gateway_id"] = attached[0]["internet_gateway_id"] if attached else ""
    for table in plan["route_tables"]:
        own = [c for c in table["subnet_cidrs"] if c not in result["subnets"]]
        if own:
            result["route_tables"].append(dict(table, subnet_cidrs=own))
    return result


class FilterModule:
    def filters(self):
        return {"vpc_layout_errors": vpc_layout_errors, "vpc_plan": vpc_plan,
                "vpc_existing_filters": vpc_existing_filters, "vpc_adoption": vpc_adoption}
