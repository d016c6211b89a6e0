"""Test-side access to the embedded emulator: start/stop through scripts/emulator,
reset state, and read back every API call it received.

The recording (MOTO_ENABLE_RECORDING) holds raw HTTP requests; operation_of()
turns one into (service, operation) for the four wire protocols botocore speaks:
JSON (X-Amz-Target), query (Action=), RPCv2 CBOR (/operation/<Name>) and REST.
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "emulator"

# Operations that only read. Anything else counts as mutating, so an
# operation nobody listed fails a read-only assertion loudly instead of hiding.
# FilterLogEvents (CloudWatch Logs) reads too: the runbooks read log lines with it.
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup", "Search", "BatchGet", "Head", "Query", "Scan", "Select",
                      "FilterLogEvents")
READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
# The AWS account both emulators answer for (moto's; scripts/emulator gives it to MiniStack too).
ACCOUNT = "123456789012"
# The emulator is consistent at once: the fixed waits amazon.aws modules and botocore waiters keep for AWS's
# eventual consistency last 2 % of their time against it (scripts/emulator_site/sitecustomize.py).
SLEEP_SITE = REPO / "scripts" / "emulator_site"
SLEEP_SCALE = "0.02"
# The same file keeps the code compiled from the module payloads' sources here, for every later module process
# (docs/tests.md, "Speed"); .tmp is the repository's scratch directory, shared by the pytest workers.
MODULE_CODE_CACHE = REPO / ".tmp" / "module-code"
HARNESS_USER_AGENT = "wanzami-test-harness"  # scripts/emulator's push-image marks its requests the same way


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _credential_service(headers):
    auth = headers.get("Authorization", "") or headers.get("authorization", "")
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return match.group(1) if match else "unknown"


def operation_of(entry):
    """Return (service, operation, mutating) for one recorded request."""
    headers = entry.get("headers") or {}
    service = _credential_service(headers)
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body)
    url = urllib.parse.urlsplit(entry.get("url", ""))
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif "/operation/" in url.path:
        operation = url.path.rsplit("/", 1)[-1]
    else:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        action = urllib.parse.parse_qs(text).get("Action") or urllib.parse.parse_qs(url.query).get("Action")
        if action:
            operation = action[0]
        else:
            method = entry.get("method", "GET").upper()
            return service, f"{method} {url.path}", method not in READ_ONLY_METHODS
    return service, operation, not operation.startswith(READ_ONLY_PREFIXES)


class Emulator:
    """One emulator process on its own port and state directory. engine: moto (scripts/emulator_server.py)
    or ministack (scripts/ministack_boot.py, which serves the same recorder and reset paths)."""

    def __init__(self, state_dir, port=None, engine="moto"):
        self.port = port or free_port()
        self.state_dir = Path(state_dir)
        self.url = f"http://127.0.0.1:{self.port}"
        self.engine = engine
        self.everything = self.state_dir / "everything-recorded.jsonl"

    def _script(self, command, *args):
        return subprocess.run(
            [sys.executable, str(SCRIPT), command, *args, "--port", str(self.port), "--state-dir", str(self.state_dir),
             "--engine", self.engine],
            capture_output=True, text=True, check=False,
        )

    def start(self):
        result = self._script("start")
        if result.returncode != 0:
            raise RuntimeError(f"emulator failed to start: {result.stdout}{result.stderr}")
        return self

    def stop(self):
        self.keep_recording()
        return self._script("stop")

    def status(self):
        return self._script("status")

    def _post(self, path, data=b""):
        request = urllib.request.Request(f"{self.url}{path}", data=data, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def reset(self):
        """Forget every resource and every recorded request."""
        self.keep_recording()
        self._post("/moto-api/reset")
        self._post("/moto-api/recorder/reset-recording")

    def push_image(self, repository, tag, region="us-east-2"):
        """Put an image into the emulator's ECR under tag (scripts/emulator push-image); returns its digest."""
        result = self._script("push-image", repository, tag, "--region", region)
        if result.returncode != 0:
            raise RuntimeError(f"push-image failed: {result.stdout}{result.stderr}")
        return result.stdout.strip()

    def set_faults(self, **faults):
        """Faults the emulator injects from now on (scripts/emulator_server.py): failing_images,
        failing_commands (regular expressions); none to clear them."""
        path = self.state_dir / "faults.json"
        if faults:
            path.write_text(json.dumps(faults))
        else:
            path.unlink(missing_ok=True)

    def keep_recording(self):
        """Append what was recorded so far to this emulator's record of every request (everything-recorded.jsonl in
        its state directory, beside the live recording.jsonl: what the operator policy is judged on) before it is
        cleared or the emulator stops; with
        $WANZAMI_KEEP_RECORDINGS=DIR also to DIR/<pid>-<port>.jsonl, the requests of a whole test run for
        scripts/iam-policy --write."""
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording", timeout=30) as response:
                recorded = response.read()
        except OSError:
            return  # not running (a test that stopped it already)
        if recorded and not recorded.endswith(b"\n"):
            recorded += b"\n"
        keep = os.environ.get("WANZAMI_KEEP_RECORDINGS")
        for path in [self.everything] + ([Path(keep) / f"{os.getpid()}-{self.port}.jsonl"] if keep else []):
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as out:
                out.write(recorded)

    def everything_recorded(self):
        """The path of a JSON-lines file with every request this emulator received since it started (clearing
        the live recording, which is kept there)."""
        self.clear_recording()
        return self.everything

    def clear_recording(self):
        self.keep_recording()
        self._post("/moto-api/recorder/reset-recording")

    def calls(self):
        """Every recorded request as (service, operation, mutating), in order."""
        with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording", timeout=30) as response:
            lines = response.read().decode("utf-8").splitlines()
        lines = [line for line in lines if line.strip()]
        calls = []
        for number, line in enumerate(lines, 1):
            try:
                calls.append(operation_of(json.loads(line)))
            except ValueError:
                # The request being recorded while we read: its line is not whole yet.
                if number == len(lines):
                    break
                raise
        return calls

    def mutating_calls(self):
        return [f"{service}:{operation}" for service, operation, mutating in self.calls() if mutating]

    def env(self):
        """Environment for a child process that must talk to this emulator only. The environments that
        commit no account id (production, staging) get the emulator's as their operators give theirs:
        WANZAMI_AWS_ACCOUNT_ID_<ENV> (playbooks/tasks/account.yml); local and the examples name it."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-2",
            **{f"WANZAMI_AWS_ACCOUNT_ID_{env}": ACCOUNT for env in ("PRODUCTION", "STAGING")},
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SLEEP_SITE), os.environ.get("PYTHONPATH")])),
            "WANZAMI_EMULATOR_SLEEP_SCALE": SLEEP_SCALE,
            "WANZAMI_MODULE_CODE_CACHE": str(MODULE_CODE_CACHE),
        }

    def client(self, service, region="us-east-2"):
        import boto3
        from botocore.config import Config

        # The user agent marks the tests' own requests: scripts/iam-policy leaves them out of the operator's policy.
        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(user_agent_extra=HARNESS_USER_AGENT))


def main(argv):
    """`emulator.py operations URL`: the operations recorded so far by the emulator at URL, as a JSON list
    (for verify playbooks, which judge read-only runs with the same classification as the tests)."""
    if len(argv) != 3 or argv[1] != "operations":
        sys.exit("usage: emulator.py operations URL")
    with urllib.request.urlopen(f"{argv[2]}/moto-api/recorder/download-recording", timeout=30) as response:
        lines = response.read().decode("utf-8").splitlines()
    print(json.dumps([operation_of(json.loads(line))[1] for line in lines if line.strip()]))


if __name__ == "__main__":
    main(sys.argv)
