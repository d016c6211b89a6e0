"""AWX as code (awx/, playbooks/awx_configure.yml), tested without an AWX.

The data: every job template's playbook exists and parses, every survey
variable is read and validated by that playbook (or a role or file it
reaches), the surveys are ones AWX accepts, every inventory source is an
inventory that ansible-inventory reads as AWX's sync will, the workflow's
nodes are templates that exist, and the execution environment pins what
.venv runs.

The playbook: run against FakeAWX, a loopback stand-in for the part of AWX's
/api/v2/ that the awx.awx modules call (list with filters, create, update,
associate, survey_spec, project updates), which validates as AWX does what
decides whether a request would be refused: a template's playbook must exist
in the project, a survey must be well formed, one credential per type. The
tests judge by the objects it ends up holding and the requests it received.
What a real AWX does beyond that (running jobs, syncing git, pulling the
image) is listed in awx/README.md under "Not run here".
"""

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import run_playbook

AWX = REPO / "awx"
PLAYBOOK = "playbooks/awx_configure.yml"
COLLECTIONS = Path(BIN).parent / "lib/python3.11/site-packages/ansible_collections"
GOOD = ["-e", "awx_project_scm_url=https://git.example.com/wanzami/infra.git",
        "-e", "awx_ee_image=registry.example.com/wanzami/infra-ee:1.0.0"]
TOKEN = "test-token-not-a-secret"  # noqa: S105 - what FakeAWX expects, nothing more


class _Loader(yaml.SafeLoader):
    """safe_load that reads Ansible's !unsafe and !vault tags as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                              if isinstance(node, yaml.ScalarNode) else None)


def load(path):
    return yaml.load(Path(path).read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


DATA = {name: load(AWX / f"{name}.yml") for name in
        ("organization", "project", "credentials", "inventories", "job_templates", "workflows")}
TEMPLATES = DATA["job_templates"]["awx_job_templates"]
CONFIRM = DATA["job_templates"]["awx_confirm_question"]
WORKFLOWS = DATA["workflows"]["awx_workflow_job_templates"]
ENVIRONMENTS = {env["name"]: env for env in DATA["inventories"]["awx_environments"]}
TEMPLATE_ENVS = DATA["inventories"]["awx_template_environments"]
ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": (int, float)}


# ---------------------------------------------------------------------------
# What a playbook reaches: itself, the roles it names, the files it points at.
# ---------------------------------------------------------------------------

def reached_files(playbook):
    """The playbook, every file under roles/<role>/ of a wanzami.infra role it (or
    one of those files) names, and every .yml it mentions that exists."""
    seen, todo = set(), [REPO / playbook]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        text = path.read_text()
        for role in set(re.findall(r"wanzami\.infra\.(\w+)", text)):
            todo.extend(sorted((REPO / "roles" / role).rglob("*.yml")))
        for ref in set(re.findall(r"[\w./{}-]+\.ya?ml\b", text)):
            todo.extend(p.resolve() for p in (path.parent / ref, REPO / ref) if "{" not in ref)
    return sorted(seen)


def mentions(text, variable):
    return re.search(rf"(?<![\w.]){re.escape(variable)}\b", text) is not None


def validating_texts(files):
    """Where a variable counts as validated: an assert task (its that, its vars, its
    message), a fail task's when, an argument spec's options."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("ansible.builtin.assert", "assert"):
                if key in node:
                    found.append(json.dumps([node[key], node.get("vars"), node.get("when")]))
            for key in ("ansible.builtin.fail", "fail"):
                if key in node and node.get("when"):
                    found.append(json.dumps([node.get("when"), node.get("vars")]))
            for key in ("ansible.builtin.validate_argument_spec", "validate_argument_spec"):
                if key in node:
                    found.append(json.dumps(node[key]))
            if "argument_specs" in node:
                found.append(json.dumps(node["argument_specs"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in files:
        try:
            walk(load(path))
        except yaml.YAMLError:
            continue
    return found


# ---------------------------------------------------------------------------
# The data, statically.
# ---------------------------------------------------------------------------

def test_every_job_template_playbook_exists_in_the_project():
    missing = sorted({t["playbook"] for t in TEMPLATES if not (REPO / t["playbook"]).is_file()})
    assert not missing, f"job templates point at playbooks that do not exist: {missing}"


def test_every_job_template_playbook_parses():
    playbooks = sorted({t["playbook"] for t in TEMPLATES})
    missing = [p for p in playbooks if not (REPO / p).is_file()]
    assert not missing, f"cannot syntax-check what does not exist: {missing}"
    done = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "inventories/production", *playbooks],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_configure_playbook_parses():
    done = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", PLAYBOOK], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["key"] for t in TEMPLATES])
def test_every_survey_variable_is_read_and_validated_by_its_playbook(template):
    assert (REPO / template["playbook"]).is_file(), f"{template['playbook']} does not exist"
    files = reached_files(template["playbook"])
    text = "\n".join(p.read_text() for p in files)
    checks = validating_texts(files)
    for question in template.get("survey", []):
        variable = question["variable"]
        assert variable != CONFIRM["variable"], "the confirmation question is added per environment, not written in a survey"
        assert mentions(text, variable), f"{template['playbook']} (and what it reaches) never reads {variable}"
        assert any(mentions(c, variable) for c in checks), f"{template['playbook']} reads {variable} but never validates it"
    for variable in template.get("extra_vars", {}):
        assert mentions(text, variable), f"{template['playbook']} never reads the extra variable {variable}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w["key"] for w in WORKFLOWS])
def test_every_workflow_survey_variable_is_read_and_validated_by_a_node(workflow):
    playbooks = {t["key"]: t["playbook"] for t in TEMPLATES}
    files = [f for node in workflow["nodes"] for f in reached_files(playbooks[node["template"]])]
    text = "\n".join(p.read_text() for p in files)
    checks = validating_texts(files)
    for question in workflow.get("survey", []):
        assert mentions(text, question["variable"]), question["variable"]
        assert any(mentions(c, question["variable"]) for c in checks), question["variable"]


def test_the_deploy_survey_is_the_release_role_inputs():
    deploy = next(t for t in TEMPLATES if t["key"] == "deploy")
    spec = load(REPO / "roles/release/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for question in deploy["survey"]:
        assert spec[question["variable"]]["type"] == "str"
        assert question["default"] == spec[question["variable"]]["default"]
    validate = (REPO / "roles/release/tasks/validate.yml").read_text()
    assert "release_image_tag" in validate
    assert "release_image_digest" in validate


@pytest.mark.parametrize("survey", [t for t in TEMPLATES + WORKFLOWS if t.get("survey")], ids=lambda t: t["key"])
def test_surveys_are_well_formed(survey):
    variables = [q["variable"] for q in survey["survey"]]
    assert len(set(variables)) == len(variables)
    for q in survey["survey"]:
        assert {"question_name", "question_description", "variable", "type", "required"} <= set(q), q
        assert q["type"] in ALLOWED_TYPES, q
        assert isinstance(q["required"], bool), q
        if q["type"] in ("multiplechoice", "multiselect"):
            assert ("choices" in q) != ("choices_from" in q), f"{q['variable']}: choices or choices_from, one of them"
            if "choices_from" in q:
                assert all(isinstance(ENVIRONMENTS[env][q["choices_from"]], list) for env in ENVIRONMENTS)
        else:
            assert "choices" not in q and "choices_from" not in q
        if "default" in q and q["default"] != "":
            assert isinstance(q["default"], ALLOWED_TYPES[q["type"]]), q
            if "choices" in q:
                assert q["default"] in q["choices"], f"{q['variable']}: default {q['default']} is not a choice"
            if q["type"] in ("integer", "float"):
                assert q.get("min", q["default"]) <= q["default"] <= q.get("max", q["default"]), q
        if q["required"]:
            assert q.get("default", None) != "", f"{q['variable']}: a required question with an empty default"
        if q["type"] in ("text", "textarea") and not q["required"]:
            assert q.get("min", 0) == 0, f"{q['variable']}: an optional text answer may be empty"
        for bound in ("min", "max"):
            assert bound not in q or isinstance(q[bound], int), q


def test_confirmation_is_asked_where_it_protects_something():
    assert CONFIRM["type"] == "multiplechoice" and CONFIRM["required"] is True
    assert "default" not in CONFIRM and "choices" not in CONFIRM, "its one choice is the environment, set per template"
    confirmed = {t["key"] for t in TEMPLATES if t.get("confirm")}
    # Whatever changes a protected environment, except a release, asks; read-only ones never do.
    assert confirmed == {"provision", "rollback", "scale", "restart", "env_file", "secrets"}
    assert [name for name, env in ENVIRONMENTS.items() if env["confirm"]] == ["production"]
    assert all(not t.get("confirm") for t in TEMPLATES if t.get("job_type") == "check")
    # AWX enforces it; no playbook or role reads it, so none can come to depend on it.
    files = [Path(root) / name for top in ("playbooks", "roles") for root, _, names in os.walk(REPO / top)
             for name in names if name.endswith(".yml")]  # os.walk does not follow the collections symlinks
    assert [f for f in files if mentions(f.read_text(), CONFIRM["variable"])] == []


def test_teardown_is_not_offered():
    assert all("teardown" not in t["playbook"] for t in TEMPLATES)


def test_the_dry_run_is_check_mode_of_site():
    dry_run = next(t for t in TEMPLATES if t["key"] == "dry_run")
    provision = next(t for t in TEMPLATES if t["key"] == "provision")
    assert (dry_run["playbook"], dry_run["job_type"], dry_run["diff_mode"]) == ("playbooks/site.yml", "check", True)
    assert (provision["playbook"], provision["job_type"]) == ("playbooks/site.yml", "run")


def test_workflow_nodes_name_existing_templates():
    keys = {t["key"] for t in TEMPLATES}
    for workflow in WORKFLOWS:
        identifiers = [n["identifier"] for n in workflow["nodes"]]
        assert len(set(identifiers)) == len(identifiers)
        for node in workflow["nodes"]:
            assert node["template"] in keys, node
            assert set(node.get("success", [])) <= set(identifiers), node
    provision_deploy = next(w for w in WORKFLOWS if w["key"] == "provision_deploy")
    assert [(n["template"], n["success"]) for n in provision_deploy["nodes"]] == [("provision", ["deploy"]), ("deploy", [])]


def test_every_inventory_source_is_the_environment_inventory():
    assert set(ENVIRONMENTS) == {"local", "staging", "production"}
    assert set(TEMPLATE_ENVS) <= set(ENVIRONMENTS)
    for name, env in ENVIRONMENTS.items():
        assert env["source_path"] == f"inventories/{name}/hosts.yml"
        assert (REPO / env["source_path"]).is_file()
        # What AWX's scm sync runs: ansible-inventory on the file, group_vars beside it.
        listing = json.loads(subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", env["source_path"], "--list"], cwd=REPO,
            capture_output=True, text=True, check=True).stdout)
        assert listing[name]["hosts"] == ["localhost"]
        assert listing["_meta"]["hostvars"]["localhost"]["wanzami_env"] == name


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_survey_service_choices_are_the_environment_services(env):
    out = subprocess.run(
        [str(BIN / "ansible"), "-i", f"inventories/{env}", "localhost", "-m", "ansible.builtin.debug",
         "-a", "msg={{ ecs_service_services | map(attribute='name') | list }}"],
        cwd=REPO, env={**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_NOCOLOR": "1"},
        capture_output=True, text=True, check=True).stdout
    services = json.loads(out.split("=>", 1)[1])["msg"]
    assert ENVIRONMENTS[env]["services"] == services
    assert ENVIRONMENTS[env]["workers"] == [s for s in services if "worker" in s]


def test_every_template_environment_names_its_credentials():
    kinds = {k for t in TEMPLATES for k in t["credentials"]}
    creds = DATA["credentials"]
    assert kinds <= set(creds["awx_credential_types"])
    for env in TEMPLATE_ENVS:
        assert kinds <= set(creds["awx_environment_credentials"][env])
        assert creds["awx_environment_credentials"][env]["aws"], f"{env} templates need an AWS credential"
    # Only names: no key, password or token anywhere in awx/.
    text = "\n".join(p.read_text() for p in AWX.rglob("*") if p.is_file())
    assert not re.search(r"AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|\$ANSIBLE_VAULT", text)


def test_execution_environment_pins_what_the_venv_runs():
    ee = load(AWX / "execution-environment.yml")
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={version('ansible-core')}"
    assert deps["ansible_runner"]["package_pip"].startswith("ansible-runner==")
    python_path = deps["python_interpreter"]["python_path"]
    assert re.fullmatch(r"/usr/bin/python3\.(1[1-9])", python_path), "ansible-core 2.19 needs Python 3.11+"
    pins = dict(line.split("==") for line in (AWX / deps["python"]).read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins == {"boto3": version("boto3"), "botocore": version("botocore"), "mitogen": version("mitogen")}
    galaxy = (AWX / deps["galaxy"]).resolve()
    assert galaxy == REPO / "collections/requirements.yml"
    # Each collection's range holds the version .venv bundles and the tests ran with.
    for entry in load(galaxy)["collections"]:
        namespace, name = entry["name"].split(".")
        bundled = json.loads((COLLECTIONS / namespace / name / "MANIFEST.json").read_text())["collection_info"]["version"]
        low, high = re.fullmatch(r">=([\d.]+),<([\d.]+)", entry["version"]).groups()
        as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
        assert as_tuple(low) <= as_tuple(bundled) < as_tuple(high), (entry, bundled)


def test_the_configure_playbook_collection_is_the_bundled_one():
    entry = load(AWX / "requirements.yml")["collections"]
    assert [e["name"] for e in entry] == ["awx.awx"]
    bundled = json.loads((COLLECTIONS / "awx/awx/MANIFEST.json").read_text())["collection_info"]["version"]
    assert entry[0]["version"] == f">={bundled},<{int(bundled.split('.')[0]) + 1}.0.0"


# ---------------------------------------------------------------------------
# A loopback AWX: enough of /api/v2/ for the awx.awx modules.
# ---------------------------------------------------------------------------

TYPES = {
    "organizations": "organization", "projects": "project", "project_updates": "project_update",
    "execution_environments": "execution_environment", "inventories": "inventory", "inventory_sources": "inventory_source",
    "credentials": "credential", "credential_types": "credential_type", "job_templates": "job_template",
    "workflow_job_templates": "workflow_job_template", "workflow_job_template_nodes": "workflow_job_template_node",
    "instance_groups": "instance_group", "labels": "label", "notification_templates": "notification_template",
}
# What a related list of each name holds.
ASSOCIATIONS = {
    "credentials": "credentials", "galaxy_credentials": "credentials", "instance_groups": "instance_groups",
    "labels": "labels", "input_inventories": "inventories",
    "success_nodes": "workflow_job_template_nodes", "failure_nodes": "workflow_job_template_nodes",
    "always_nodes": "workflow_job_template_nodes",
    **{f"notification_templates_{k}": "notification_templates" for k in ("started", "success", "error", "approvals")},
}
UNIFIED = ("job_templates", "workflow_job_templates", "projects", "inventory_sources")
SURVEYED = ("job_templates", "workflow_job_templates")
PAGING = {"page", "page_size", "order_by"}


class FakeAWX:
    def __init__(self, project_dir):
        self.project_dir = Path(project_dir)
        self.items = {collection: {} for collection in TYPES}
        self.links = {}
        self.surveys = {}
        self.requests = []
        self.next_id = 1
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                parts = urlsplit(self.path)
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": parts.path, "query": dict(parse_qsl(parts.query)),
                                          "body": body, "auth": self.headers.get("Authorization")})
                    status, answer = fake.handle(self.command, parts.path, dict(parse_qsl(parts.query)), body)
                data = b"" if status == 204 else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-API-Product-Name", "AWX")
                self.send_header("X-API-Product-Version", "24.6.1")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- store ---------------------------------------------------------------

    def add(self, collection, **fields):
        item_id, self.next_id = self.next_id, self.next_id + 1
        url = f"/api/v2/{collection}/{item_id}/"
        related = {name: f"{url}{name}/" for name in ASSOCIATIONS}
        if collection in SURVEYED:
            related["survey_spec"] = f"{url}survey_spec/"
        item = {"id": item_id, "type": TYPES[collection], "url": url, "related": related, "summary_fields": {}, **fields}
        self.items[collection][item_id] = item
        return item

    def find(self, collection, **fields):
        return [i for i in self.items[collection].values() if all(i.get(k) == v for k, v in fields.items())]

    def one(self, collection, **fields):
        (item,) = self.find(collection, **fields)
        return item

    def linked(self, item, association):
        return [self.items[ASSOCIATIONS[association]][i] for i in self.links.get((item["url"], association), [])]

    def seed_credential(self, name, type_name):
        types = self.find("credential_types", name=type_name) or [self.add("credential_types", name=type_name, kind="cloud")]
        return self.add("credentials", name=name, credential_type=types[0]["id"],
                        summary_fields={"credential_type": {"id": types[0]["id"], "name": type_name}})

    def writes(self, since=0):
        return [r for r in self.requests[since:] if r["method"] != "GET"]

    # -- API -----------------------------------------------------------------

    @staticmethod
    def _matches(item, key, value):
        if "__" in key:
            outer, inner = key.split("__", 1)
            actual = item.get("summary_fields", {}).get(outer, {}).get(inner)
        else:
            actual = item.get(key)
        if isinstance(actual, bool):
            actual = str(actual).lower()
        return str(actual) == value

    def _list(self, collections, query):
        ors = {k[4:]: v for k, v in query.items() if k.startswith("or__")}
        ands = {k: v for k, v in query.items() if not k.startswith("or__") and k not in PAGING}
        results = [i for c in collections for i in self.items[c].values()
                   if all(self._matches(i, k, v) for k, v in ands.items())
                   and (not ors or any(self._matches(i, k, v) for k, v in ors.items()))]
        return 200, {"count": len(results), "next": None, "previous": None, "results": results}

    def handle(self, method, path, query, body):
        parts = path.removeprefix("/api/v2/").strip("/").split("/")
        if parts == ["unified_job_templates"] and method == "GET":
            return self._list(UNIFIED, query)
        collection = parts[0]
        if collection not in TYPES:
            return 404, {"detail": "Not found."}
        if len(parts) == 1:
            if method == "GET":
                return self._list([collection], query)
            if method == "POST":
                return self._create(collection, body)
        item = self.items[collection].get(int(parts[1])) if parts[1].isdigit() else None
        if item is None:
            return 404, {"detail": "Not found."}
        if len(parts) == 2:
            if method == "GET":
                return 200, item
            if method == "PATCH":
                error = self._refused(collection, {**item, **body}, item)
                if error:
                    return 400, error
                item.update(body)
                return 200, item
        elif parts[2] == "survey_spec" and collection in SURVEYED:
            if method == "GET":
                return 200, self.surveys.get(item["url"], {})
            if method == "POST":
                error = survey_spec_error(body)
                if error:
                    return 400, {"error": error}
                self.surveys[item["url"]] = body
                return 200, {}
            if method == "DELETE":
                self.surveys.pop(item["url"], None)
                return 200, {}
        elif parts[2] in ASSOCIATIONS:
            if method == "GET":
                linked = self.linked(item, parts[2])
                return 200, {"count": len(linked), "next": None, "previous": None, "results": linked}
            if method == "POST":
                return self._associate(item, parts[2], body)
        return 405, {"detail": f"Method {method} not allowed."}

    def _create(self, collection, body):
        error = self._refused(collection, body, None)
        if error:
            return 400, error
        if collection == "projects":
            update = self.add("project_updates", name=body["name"], status="successful", finished=True, failed=False,
                              scm_revision="0123abcd")
            item = self.add(collection, scm_revision="", **body)
            item["summary_fields"]["current_update"] = {"id": update["id"], "status": "successful"}
            item["related"]["update"] = f"{item['url']}update/"
            return 201, item
        return 201, self.add(collection, **body)

    def _refused(self, collection, fields, existing):
        """The 400s AWX answers that a wrong configuration would meet."""
        name = fields.get("name")
        if name is not None and collection != "workflow_job_template_nodes":
            others = [i for i in self.find(collection, name=name) if i is not existing
                      and i.get("organization") == fields.get("organization")]
            if others:
                return {"__all__": [f"{TYPES[collection]} with this Name and Organization already exists."]}
        for field, target in (("organization", "organizations"), ("project", "projects"), ("inventory", "inventories"),
                              ("source_project", "projects"), ("execution_environment", "execution_environments"),
                              ("default_environment", "execution_environments"),
                              ("workflow_job_template", "workflow_job_templates")):
            if fields.get(field) is not None and fields[field] not in self.items[target]:
                return {field: [f'Invalid pk "{fields[field]}" - object does not exist.']}
        if collection == "job_templates" and not (self.project_dir / fields.get("playbook", "")).is_file():
            return {"playbook": ["Playbook not found for project."]}
        if collection == "inventory_sources" and fields.get("source") == "scm" and \
                not (self.project_dir / fields.get("source_path", "")).is_file():
            return {"source_path": [f"Cannot find inventory file {fields.get('source_path')} in the project."]}
        if collection == "workflow_job_template_nodes":
            if not any(fields.get("unified_job_template") in self.items[c] for c in UNIFIED):
                return {"unified_job_template": ["Invalid pk - object does not exist."]}
            twins = [i for i in self.find(collection, workflow_job_template=fields["workflow_job_template"],
                                          identifier=fields.get("identifier")) if i is not existing]
            if twins:
                return {"__all__": ["Workflow job template node with this identifier already exists."]}
        return None

    def _associate(self, item, association, body):
        ids = self.links.setdefault((item["url"], association), [])
        target = self.items[ASSOCIATIONS[association]].get(body["id"])
        if target is None:
            return 400, {"msg": "object does not exist"}
        if body.get("disassociate"):
            ids.remove(body["id"])
            return 204, None
        same_type = [c for c in self.linked(item, "credentials") if c["credential_type"] == target.get("credential_type")]
        if association == "credentials" and same_type:
            return 400, {"error": "Cannot assign multiple credentials of the same type."}
        if body["id"] not in ids:
            ids.append(body["id"])
        return 204, None


def survey_spec_error(spec):
    """AWX's JobTemplateSurveySpec._validate_spec_data, in the cases a spec of ours could meet."""
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            return f"Field '{field}' is missing from survey spec or is not a {kind.__name__}."
    if not spec["spec"]:
        return "'spec' doesn't contain any items."
    variables = set()
    for idx, item in enumerate(spec["spec"]):
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                return f"'{field}' missing from survey question {idx}"
        if not isinstance(item["required"], bool):
            return f"'required' in survey question {idx} expected to be boolean."
        if item["variable"] in variables:
            return f"'variable' '{item['variable']}' duplicated in survey question {idx}."
        variables.add(item["variable"])
        if item["type"] not in ALLOWED_TYPES:
            return f"'{item['type']}' in survey question {idx} is not an allowed question type."
        if "default" in item and item["default"] != "" and not isinstance(item["default"], ALLOWED_TYPES[item["type"]]):
            return f"Default value {item['default']} in survey question {idx} expected to be {item['type']}."
        for bound in ("min", "max"):
            if item.get(bound) is not None and not isinstance(item[bound], int):
                return f"The {bound} limit in survey question {idx} expected to be integer."
        if item["type"] in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                return f"Survey question {idx} of type {item['type']} must specify choices."
            if "default" in item and item["default"] not in item["choices"]:
                return "Default choice must be answered from the choices listed."
    return None


# ---------------------------------------------------------------------------
# The playbook against the fake.
# ---------------------------------------------------------------------------

def configure(fake, *args, check=True):
    environ = {"CONTROLLER_HOST": fake.url if fake else "http://127.0.0.1:9", "CONTROLLER_OAUTH_TOKEN": TOKEN,
               "ANSIBLE_PIPELINING": "1", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
               "http_proxy": "", "HTTP_PROXY": "", "https_proxy": "", "HTTPS_PROXY": ""}
    return run_playbook(PLAYBOOK, *args, env=environ, check=check)


def seeded_fake():
    fake = FakeAWX(REPO).start()
    types = DATA["credentials"]["awx_credential_types"]
    for env in TEMPLATE_ENVS:
        for kind, name in DATA["credentials"]["awx_environment_credentials"][env].items():
            if name:
                fake.seed_credential(name, types[kind])
    return fake


@pytest.fixture(scope="module")
def awx():
    """A fake AWX holding only the credentials, configured once by the playbook."""
    fake = seeded_fake()
    fake.first_run = configure(fake, *GOOD)
    yield fake
    fake.stop()


def expected_templates():
    return {(env, f"{ENVIRONMENTS[env]['inventory']} {t['name']}"): t for env in TEMPLATE_ENVS for t in TEMPLATES}


def test_configure_creates_every_object_once(awx):
    assert awx.first_run.changed > 0
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in awx.requests), "every request carries the token from the environment"
    org = awx.one("organizations", name=DATA["organization"]["awx_organization"]["name"])
    ee = awx.one("execution_environments", name="wanzami-infra-ee")
    assert (ee["image"], ee["organization"], ee["pull"]) == ("registry.example.com/wanzami/infra-ee:1.0.0", org["id"], "missing")
    project = awx.one("projects", name="wanzami-infra")
    assert (project["scm_type"], project["scm_url"], project["scm_branch"]) == (
        "git", "https://git.example.com/wanzami/infra.git", "main")
    assert (project["organization"], project["default_environment"]) == (org["id"], ee["id"])
    assert project["scm_update_on_launch"] is True
    assert len(awx.items["projects"]) == 1 and len(awx.items["organizations"]) == 1


def test_configure_makes_one_inventory_per_environment_from_git(awx):
    project = awx.one("projects", name="wanzami-infra")
    assert sorted(i["name"] for i in awx.items["inventories"].values()) == sorted(e["inventory"] for e in ENVIRONMENTS.values())
    for env in ENVIRONMENTS.values():
        inventory = awx.one("inventories", name=env["inventory"])
        (source,) = awx.find("inventory_sources", inventory=inventory["id"])
        assert (source["source"], source["source_project"], source["source_path"]) == ("scm", project["id"], env["source_path"])
        assert source["overwrite"] and source["overwrite_vars"] and source["update_on_launch"]
        assert (REPO / source["source_path"]).is_file()


def test_configure_makes_each_environment_job_templates(awx):
    expected = expected_templates()
    made = {jt["name"]: jt for jt in awx.items["job_templates"].values()}
    assert sorted(made) == sorted(name for _, name in expected)
    ee = awx.one("execution_environments", name="wanzami-infra-ee")
    creds = DATA["credentials"]["awx_environment_credentials"]
    for (env, name), template in expected.items():
        jt = made[name]
        assert (REPO / jt["playbook"]).is_file() and jt["playbook"] == template["playbook"]
        assert jt["inventory"] == awx.one("inventories", name=ENVIRONMENTS[env]["inventory"])["id"]
        assert jt["job_type"] == template["job_type"] and jt["execution_environment"] == ee["id"]
        assert not jt["ask_variables_on_launch"] and not jt["ask_inventory_on_launch"] and not jt["ask_credential_on_launch"]
        assert sorted(c["name"] for c in awx.linked(jt, "credentials")) == sorted(creds[env][k] for k in template["credentials"])
        assert json.loads(jt["extra_vars"]) == template.get("extra_vars", {})
    # The release says who released, rendered by the job, not by awx_configure.
    deploy = made["wanzami-production deploy"]
    assert json.loads(deploy["extra_vars"])["release_who"].startswith("{{ awx_user_name")
    assert made["wanzami-staging dry run"]["job_type"] == "check" and made["wanzami-staging dry run"]["diff_mode"]
    assert all("teardown" not in jt["playbook"] for jt in made.values())


def test_surveys_reach_awx_with_choices_and_confirmation(awx):
    for (env, name), template in expected_templates().items():
        jt = awx.one("job_templates", name=name)
        spec = awx.surveys.get(jt["url"], {})
        questions = {q["variable"]: q for q in spec.get("spec", [])}
        wanted = [q["variable"] for q in template.get("survey", [])]
        confirm = template.get("confirm", False) and ENVIRONMENTS[env]["confirm"]
        assert list(questions) == wanted + ([CONFIRM["variable"]] if confirm else []), name
        assert jt["survey_enabled"] is bool(questions), name
        if confirm:
            question = questions[CONFIRM["variable"]]
            assert (question["choices"], question["required"], "default" in question) == ([env], True, False)
        for q in template.get("survey", []):
            if "choices_from" in q:
                choices = ENVIRONMENTS[env][q["choices_from"]] + q.get("extra_choices", [])
                assert questions[q["variable"]]["choices"] == choices
                assert "choices_from" not in questions[q["variable"]]
    scale = awx.surveys[awx.one("job_templates", name="wanzami-production scale")["url"]]["spec"]
    assert scale[0]["choices"] == ["wanzami-backend-service", "wanzami-worker-transcode-svc", "wanzami-worker-cron-svc"]
    restart = awx.surveys[awx.one("job_templates", name="wanzami-staging restart")["url"]]["spec"]
    assert restart[0]["choices"][-1] == "all" and len(restart) == 1, "staging asks no confirmation"


def test_workflow_provisions_then_deploys_the_same_environment(awx):
    for env in TEMPLATE_ENVS:
        inventory = ENVIRONMENTS[env]["inventory"]
        workflow = awx.one("workflow_job_templates", name=f"{inventory} provision then deploy")
        nodes = {n["identifier"]: n for n in awx.find("workflow_job_template_nodes", workflow_job_template=workflow["id"])}
        assert sorted(nodes) == ["deploy", "provision"]
        assert awx.items["job_templates"][nodes["provision"]["unified_job_template"]]["name"] == f"{inventory} provision"
        assert awx.items["job_templates"][nodes["deploy"]["unified_job_template"]]["name"] == f"{inventory} deploy"
        assert [n["identifier"] for n in awx.linked(nodes["provision"], "success_nodes")] == ["deploy"]
        assert awx.linked(nodes["deploy"], "success_nodes") == []
        spec = {q["variable"]: q for q in awx.surveys[workflow["url"]]["spec"]}
        confirm = ENVIRONMENTS[env]["confirm"]
        assert list(spec) == ["release_image_tag"] + (["confirm_environment"] if confirm else [])
        assert spec["release_image_tag"]["required"], "a workflow without a tag would provision, then fail the release"
        # The protected provision node is answered by the workflow's own confirmation.
        assert nodes["provision"].get("extra_data", {}) == ({"confirm_environment": env} if confirm else {})
        assert not nodes["deploy"].get("extra_data")


CHANGED_ITEM = re.compile(r"^changed: \[localhost\] => \(item=(.+)\)$", re.M)


def test_drift_is_shown_by_a_dry_run_and_only_the_drift_is_repaired(awx):
    """Three objects changed in AWX behind the data's back. A dry run reports the
    one it covers and sends no write; a run then writes exactly the three
    repairs and nothing else: every other object (organization, execution
    environment, project, each inventory and source, the other templates) is
    already as the data says. Production only, to keep the run short: staging's
    templates come from the same data through the same tasks."""
    production = ["-e", json.dumps({"awx_template_environments": ["production"]})]
    deploy = awx.one("job_templates", name="wanzami-production deploy")
    rollback = awx.one("job_templates", name="wanzami-production rollback")
    workflow = awx.one("workflow_job_templates", name="wanzami-production provision then deploy")
    deploy["playbook"] = "playbooks/site.yml"
    awx.surveys[rollback["url"]]["spec"].pop()
    awx.surveys[workflow["url"]]["spec"].pop()
    drifted = list(awx.surveys[workflow["url"]]["spec"])

    since = len(awx.requests)
    dry = configure(awx, *GOOD, *production, "--check", "--tags", "workflows")
    assert CHANGED_ITEM.findall(dry.output) == ["wanzami-production provision then deploy"], dry
    assert awx.writes(since) == []
    assert awx.surveys[workflow["url"]]["spec"] == drifted

    since = len(awx.requests)
    run = configure(awx, *GOOD, *production)
    assert sorted(CHANGED_ITEM.findall(run.output)) == [
        "wanzami-production deploy", "wanzami-production provision then deploy", "wanzami-production rollback"], run
    assert sorted((w["method"], w["path"]) for w in awx.writes(since)) == sorted([
        ("PATCH", deploy["url"]), ("POST", f"{rollback['url']}survey_spec/"), ("POST", f"{workflow['url']}survey_spec/")])
    assert deploy["playbook"] == "playbooks/deploy.yml"
    assert [q["variable"] for q in awx.surveys[rollback["url"]]["spec"]] == ["confirm_environment"]
    assert [q["variable"] for q in awx.surveys[workflow["url"]]["spec"]][-1] == "confirm_environment"


def test_placeholders_are_refused_before_any_request():
    fake = seeded_fake()
    try:
        run = configure(fake, check=False)
        assert run.rc != 0
        assert "awx_project_scm_url is the placeholder https://example.invalid/wanzami/infra.git" in run.output
        assert "awx_ee_image 'registry.example.invalid/wanzami/infra-ee:0.1.0'" in run.output
        assert fake.requests == []
    finally:
        fake.stop()


def test_a_missing_credential_fails_before_anything_changes():
    fake = FakeAWX(REPO).start()
    try:
        fake.seed_credential("wanzami-staging AWS", "Amazon Web Services")
        fake.seed_credential("wanzami-production AWS", "Vault")  # the right name with the wrong type
        run = configure(fake, *GOOD, check=False)
        assert run.rc != 0
        assert 'AWX has no credential "wanzami-production AWS" of type "Amazon Web Services"' in run.output
        assert 'AWX has no credential "wanzami-staging vault" of type "Vault"' in run.output
        assert 'no credential "wanzami-staging AWS"' not in run.output
        assert fake.writes() == []
    finally:
        fake.stop()


def test_no_controller_host_is_refused_before_any_request():
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONTROLLER_", "TOWER_"))}
    done = subprocess.run([str(BIN / "ansible-playbook"), PLAYBOOK, *GOOD], cwd=REPO, env=environ,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "CONTROLLER_HOST is not set" in done.stdout
    assert "no AWX login" in done.stdout
