# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tags that may go on a resource that is not ours without adopting it."""

from ansible_collections.wanzami.infra.plugins.module_utils.ownership import foreign_tags


class FilterModule:
    def filters(self):
        return {"without_ownership_tags": foreign_tags}
