# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests for AWS input validation."""

import functools


@functools.lru_cache(maxsize=1)
def known_regions():
    """Every region of every partition in botocore's endpoint data (the SDK the modules use)."""
    import botocore.session

    session = botocore.session.get_session()
    regions = set()
    for partition in session.get_available_partitions():
        # EC2 is in every region of a partition; STS and S3 add nothing it lacks.
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def aws_region(value):
    """True when value names a region botocore knows (us-east-2 yes, us-east-9 and useast2 no)."""
    return isinstance(value, str) and value in known_regions()


class TestModule:
    def tests(self):
        return {"aws_region": aws_region}
