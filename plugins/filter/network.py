# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline validation of a VPC layout, so bad input fails before any AWS call."""

import ipaddress

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


def vpc_layout_errors(vpc_cidr, public, private=None, database=None, nat_mode="single"):
    """Return a list of human-readable problems with a VPC layout (empty when valid).

    Each subnet is a mapping with ``cidr`` and ``az``. Messages name the
    variable (``vpc_private_subnets[1].cidr``) and say what is allowed.
    """
    errors = []
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


class FilterModule:
    def filters(self):
        return {"vpc_layout_errors": vpc_layout_errors, "vpc_plan": vpc_plan}
