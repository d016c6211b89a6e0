# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test: is a resource ours (does it carry every ownership tag)?"""

from ansible_collections.wanzami.infra.plugins.module_utils.ownership import owned


class TestModule:
    def tests(self):
        return {"owned": owned}
