"""LocalStack boot script (scripts/emulator --engine localstack puts it in init/start.d): where
LocalStack's free runtime answers differently from AWS in a way our roles meet, make it
answer as AWS does, in-process, as LocalStack starts (as scripts/emulator_server.py
does for moto). Run with exec() by LocalStack's init runner; prints what it changed.

* CreateRouteTable's local route has no `origin` (DescribeRouteTables has it; AWS has it in
  both: CreateRouteTable). amazon.aws.ec2_vpc_route_table purges routes by origin and fails
  with KeyError 'Origin' on a new table.

And one that is not about AWS: S3 keeps object data in a fixed /tmp/localstack-s3-storage,
shared by every LocalStack on the machine; it goes under $TMPDIR (the state directory's tmp/,
set by scripts/emulator) instead, before the S3 provider is first made.
"""

import os

from localstack.services.s3 import provider as s3_provider
from moto.ec2.responses import route_tables

s3_provider.DEFAULT_S3_TMP_DIR = os.path.join(os.environ.get("TMPDIR") or s3_provider.DEFAULT_S3_TMP_DIR,
                                              "localstack-s3-storage")
print(f"wanzami: S3 object data in {s3_provider.DEFAULT_S3_TMP_DIR}")

_LOCAL = "<gatewayId>local</gatewayId>"
if "<origin>" not in route_tables.CREATE_ROUTE_TABLE_RESPONSE.split("</routeSet>")[0]:
    route_tables.CREATE_ROUTE_TABLE_RESPONSE = route_tables.CREATE_ROUTE_TABLE_RESPONSE.replace(
        _LOCAL, _LOCAL + "\n             <origin>CreateRouteTable</origin>")
    print("wanzami: CreateRouteTable's local route now has origin CreateRouteTable, as on AWS")
