# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every wanzami.infra module, as community.aws does it:
AnsibleAWSModule with this collection's name and version in the user agent;
and the tag reconciliation every module shares."""

from ansible_collections.amazon.aws.plugins.module_utils.common import set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

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


def apply_tags(module, current, wanted, purge_tags, tag, untag):
    """Bring a resource's tags from current to wanted; wanted None leaves them alone.

    tag(to_set) and untag(keys) make the calls; neither is called in check mode.
    Returns changed.
    """
    if wanted is None:
        return False
    to_set, to_unset = compare_aws_tags(current, wanted, purge_tags=purge_tags)
    if not (to_set or to_unset):
        return False
    if not module.check_mode:
        if to_unset:
            untag(to_unset)
        if to_set:
            tag(to_set)
    return True


def carries_tags(current, required):
    """Whether tags hold every required tag with its value (required empty: always)."""
    current = current or {}
    return all(k in current and str(current[k]) == str(v) for k, v in (required or {}).items())


def kept_message(kind, name, current, required):
    """Why a resource was not deleted: it is not ours."""
    missing = sorted(f"{k}={v}" for k, v in required.items() if str((current or {}).get(k)) != str(v))
    return (f"{kind} {name} is not ours (it lacks the ownership tags {', '.join(missing)}): kept, not deleted. "
            "Delete it yourself if it really is this environment's.")
