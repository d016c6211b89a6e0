# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every wanzami.infra module, as community.aws does it:
AnsibleAWSModule with this collection's name and version in the user agent."""

from ansible_collections.amazon.aws.plugins.module_utils.common import set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

WANZAMI_INFRA_COLLECTION_NAME = "wanzami.infra"
# Kept equal to galaxy.yml's version (tests/unit/test_elasticache_module_utils.py checks it).
WANZAMI_INFRA_COLLECTION_VERSION = "0.1.0"


class WanzamiInfraAWSModule(AnsibleAWSModule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        set_collection_info(
            collection_name=WANZAMI_INFRA_COLLECTION_NAME,
            collection_version=WANZAMI_INFRA_COLLECTION_VERSION,
        )

    def _should_inject_warnings(self):
        # amazon.aws 10 passes module.warn() messages to exit_json again on
        # ansible-core >= 2.19, which already reports them and deprecates
        # the `warnings` argument; every warning would come with a
        # deprecation notice.
        return False
