#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_release
short_description: Release one image to every ECS service and scheduled task of an environment, with rollback
version_added: 0.1.0
description:
  - Releases one image of one ECR repository to the ECS services (and EventBridge scheduled tasks) of a cluster in
    one process, the way C(ecs-deploy) does for one service, and rolls everything back when the release fails.
  - B(1. Validation.) The options are checked before any AWS call; the error names the option and what it allows.
  - B(2. Image.) O(image_tag) or O(image_digest) is looked up in the ECR repository O(repository) (in the module's
    region) and pinned by digest, C(<registry>/<repository>@sha256:...); a mutable tag never ends up in a task
    definition. An image that is not in ECR fails the release here. With O(to_previous=true) no image is looked
    up; the target is the C(previous) release of the release record O(record_parameter).
  - B(3. Lock.) With O(lock_parameter), an SSM parameter created only if absent makes concurrent releases of the
    environment exclude each other. A held lock fails the release with the holder's name, after waiting up to
    O(lock_wait) seconds; O(break_lock=true) deletes a stale lock first. The lock is released at the end of every
    run, successful or not, and only if it is still ours.
  - B(4. Plan and pre-flight.) Every service must exist and be C(ACTIVE); every service's and scheduled task's
    current task definition must have at least one container running an image of C(<registry>/<repository>).
    Those containers, and only those, get the pinned image (sidecars keep theirs). A service or scheduled task
    already running exactly the pinned image needs nothing; releasing the same digest again reports no change and
    makes no call beyond reads (and the lock). Check mode stops here.
  - B(5. New revisions.) The current task definition of each service that needs it is registered again with the
    pinned image and everything else unchanged (including its tags). Services and scheduled tasks that run the
    same revision share one new revision.
  - B(6. Migration.) With O(migration), a one-off task runs the migration command on the new revision of that
    service's family, with the service's capacity provider strategy (or launch type) and network. The services
    are not touched before it exits with code 0; any other outcome fails the release with the services still on
    their revisions.
  - B(7. Rollout.) Each service that needs it gets its new revision with one C(UpdateService) call (the desired
    count is not touched, except by the first release, see O(desired_counts)); each scheduled task's
    target gets it with C(PutTargets). The module then waits, up to
    O(wait_timeout) seconds, until the C(PRIMARY) deployment of every updated service runs the new revision and
    its C(rolloutState) is C(COMPLETED). A C(PRIMARY) deployment on another revision (the deployment circuit
    breaker rolled it back, which leaves the service 'stable' on the old revision) or a C(FAILED) rollout is a
    failure, as is the timeout; the message quotes the service's last 3 events.
  - B(8. Smoke test.) With O(smoke_test), an HTTP GET must answer the expected status within its timeout.
  - B(9. Rollback.) When the rollout or the smoke test fails and O(rollback_on_failure=true), every service and
    scheduled task the release changed is pointed back at the revision it ran before, the module waits the same
    way for those revisions, and fails with what failed and what was rolled back (C(rolled_back=true)). A service
    the release started from 0 (O(desired_counts)) goes back to desired count C(0).
  - B(10. Record.) With O(record_parameter), a successful release writes a JSON record (tag, digest, pinned image,
    time, who, the revision of every service and scheduled task, the images of every repository released into
    the environment, and the C(previous) release) to that SSM parameter. O(to_previous=true) swaps current and
    previous, so rolling back twice returns to where it started.
  - B(11. Prune.) After a successful release, the ACTIVE revisions of each released family beyond the newest
    O(keep_revisions) are deregistered, never the new revision nor the previous one.
  - Supports check mode and C(--diff).
author:
  - Wanzami infrastructure team
options:
  cluster:
    description: Cluster name or ARN.
    type: str
    required: true
  services:
    description: The services to release to, for example C(wanzami-backend-service); every one must exist.
    type: list
    elements: str
    required: true
  scheduled_tasks:
    description:
      - EventBridge rules (on the default bus) whose single ECS target runs a task definition of the same image,
        for example C(wanzami-cron-sync-payments) (see M(wanzami.infra.ecs_scheduled_task)).
    type: list
    elements: str
    default: []
  repository:
    description:
      - ECR repository name, for example C(wanzami-backend). Its containers are recognised by their image,
        C(<registry>/<repository>) followed by C(:tag), C(@digest) or nothing.
    type: str
    required: true
  registry:
    description:
      - Registry host of the image, without scheme.
      - Defaults to the account's ECR registry in the module's region, C(<account>.dkr.ecr.<region>.amazonaws.com)
        (C(.amazonaws.com.cn) in China), found with C(sts:GetCallerIdentity).
    type: str
  image_tag:
    description:
      - Tag of the image to release; resolved to its digest, which is what the task definitions get.
      - Exactly one of O(image_tag), O(image_digest) and O(to_previous=true).
    type: str
  image_digest:
    description:
      - Digest of the image to release, C(sha256:) and 64 lower-case hex digits.
      - Exactly one of O(image_tag), O(image_digest) and O(to_previous=true).
    type: str
  to_previous:
    description:
      - Go back to the C(previous) release of the release record O(record_parameter) (required then); each service
        and scheduled task is pointed at the revision recorded there, without registering anything, and the
        migration is not run.
      - Fails when there is no record, or it has no previous release, or the previous release does not name one of
        O(services) or O(scheduled_tasks).
    type: bool
    default: false
  migration:
    description:
      - A one-off task run with the new revision before any service is updated, for example database migrations.
      - Not run when nothing is to be released, nor with O(to_previous=true).
    type: dict
    suboptions:
      service:
        description: One of O(services); its new revision, capacity provider strategy (or launch type) and network are used.
        type: str
        required: true
      command:
        description: The command, as a list, for example C([npx, prisma, migrate, deploy]).
        type: list
        elements: str
        required: true
      container:
        description: The container the command overrides; defaults to the first container running the repository's image.
        type: str
      timeout:
        description: Seconds to wait for the task to stop; a task still running then fails the release (it is not stopped).
        type: int
        default: 600
  desired_counts:
    description:
      - Service name to the desired count it runs with, for example C(wanzami-backend-service) to C(2); needs
        O(record_parameter).
      - Used only by the first release of O(repository) - there is no release record, or the record holds no image of
        O(repository). Each of these services that is at desired count C(0) (a new environment's services wait there
        for their first image, see M(wanzami.infra.ecs_service)'s O(wanzami.infra.ecs_service#module:first_image)) gets
        its count in the same C(UpdateService) call as its new revision, and the release waits for those tasks as for
        any rollout (then the smoke test). A rollback puts them back to C(0).
      - After a release, a service at C(0) stays there, whatever this says - someone scaled it down on purpose
        (C(playbooks/runbooks/scale.yml)). A service with tasks never has its count changed.
    type: dict
  wait_timeout:
    description: Seconds to wait for the rollout of every service (and again for a rollback).
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls of the services, of the migration task and of a held lock.
    type: float
    default: 10
  smoke_test:
    description:
      - An HTTP GET that must answer O(smoke_test.status) once every service finished its rollout.
      - Give exactly one of O(smoke_test.url) and O(smoke_test.load_balancer).
    type: dict
    suboptions:
      url:
        description: C(http://) or C(https://) URL.
        type: str
      load_balancer:
        description:
          - Name of the load balancer to GET C(<scheme>://<its DNS name><path>) through, found before anything changes.
            A load balancer that does not exist fails the release there (in check mode, RV(release.blockers)).
        type: str
      scheme:
        description:
          - With O(smoke_test.load_balancer), C(https) when its listener serves HTTPS (port 80 then only redirects).
          - Over C(https) without O(smoke_test.host), the certificate must be valid and from a trusted authority, but
            its name is not checked - it is the domain's, never the load balancer's C(*.elb.amazonaws.com) name.
        type: str
        choices: [http, https]
        default: http
      host:
        description:
          - With O(smoke_test.load_balancer), the service's host name when the listener routes it by host, for example
            C(api.example.com). The URL names it (C(<scheme>://<host><path>)) and the GET still goes to the load
            balancer, with that C(Host) header and, over https, that TLS server name, the certificate verified against
            it. Public DNS need not point at the load balancer yet. Redirects are not followed.
        type: str
      path:
        description: The path, with O(smoke_test.load_balancer).
        type: str
        default: /
      status:
        description: The status that passes.
        type: int
        default: 200
      timeout:
        description: Seconds, in total, to keep trying.
        type: int
        default: 60
      interval:
        description: Seconds between two tries.
        type: float
        default: 5
  rollback_on_failure:
    description:
      - When the rollout or the smoke test fails, point everything the release changed back at the revision it ran
        before and wait for it. With C(false) the failed release is left in place (and reported).
    type: bool
    default: true
  record_parameter:
    description:
      - SSM parameter (String) holding the JSON release record, for example C(/wanzami/production/release).
      - Written after every successful release that changed something, and by a release that changed nothing only
        when there is no record yet or it does not describe what runs.
    type: str
  lock_parameter:
    description:
      - SSM parameter (String) used as the release lock, for example C(/wanzami/production/release-lock).
      - No lock is taken without it.
    type: str
  tags:
    description:
      - Tags put on O(record_parameter) and O(lock_parameter) when they are written (the ownership tags, so that
        C(playbooks/teardown.yml) deletes them only when they are ours). Merged with the tags they have; none is removed.
    type: dict
  lock_wait:
    description: Seconds to wait for a held lock to be released before failing; C(0) fails at once.
    type: int
    default: 0
  break_lock:
    description: Delete a held lock (a release that died) and take it; the result warns whose lock was broken.
    type: bool
    default: false
  who:
    description:
      - Who releases, written in the lock and the record.
      - Defaults to C(<USER>@<hostname>) of the host the module runs on.
    type: str
  keep_revisions:
    description:
      - ACTIVE revisions to keep in each released family after a successful release; older ones are deregistered.
        The new revision and the one it replaced are always kept. C(0) keeps them all.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Check mode is read-only; it resolves the image, reads the lock (its holder is returned in
    RV(release.lock_holder)), reads the services, task definitions and targets, and reports what would change in
    C(diff); it takes no lock and makes no mutating call. What does not exist yet (image, cluster, services, rules,
    record) is reported in RV(release.blockers) instead of failing, so a dry run works on an empty account.
  - The previous revision of every service and scheduled task is never deregistered, so a rollback (automatic, or
    with O(to_previous=true)) always has somewhere to go.
  - A rollback points each service back at the revision it ran before the release with C(UpdateService) and waits
    for that revision's deployment to complete; it does not undo a migration (the database keeps its schema), so
    migrations are expected to be backward compatible.
  - Only services with the C(ECS) deployment controller can be released.
  - The IAM identity needs ecr:DescribeImages, sts:GetCallerIdentity (without O(registry)), ecs:DescribeServices,
    ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:UpdateService, ecs:RunTask, ecs:DescribeTasks,
    ecs:ListTaskDefinitions, ecs:DeregisterTaskDefinition, ecs:TagResource, iam:PassRole on the task roles,
    events:ListTargetsByRule and events:PutTargets (with O(scheduled_tasks)), ssm:GetParameter, ssm:PutParameter
    and ssm:DeleteParameter (with O(lock_parameter) or O(record_parameter)), elasticloadbalancing:DescribeLoadBalancers
    (with O(smoke_test.load_balancer)).
"""

EXAMPLES = r"""
- name: Release seed 000's backend image to its three services, with migration, smoke test, lock and record
  wanzami.infra.ecs_release:
    cluster: wanzami-cluster
    services:
      - wanzami-backend-service
      - wanzami-worker-transcode-svc
      - wanzami-worker-cron-svc
    repository: wanzami-backend
    image_tag: "{{ release_tag }}"
    migration:
      service: wanzami-backend-service
      command: [npx, prisma, migrate, deploy]
    smoke_test:
      load_balancer: wanzami-alb
      path: /health
    lock_parameter: /wanzami/production/release-lock
    break_lock: "{{ release_break_lock | default(false) | bool }}"
    record_parameter: /wanzami/production/release
  register: release

- name: Go back to the previous release (no image, no migration)
  wanzami.infra.ecs_release:
    cluster: wanzami-cluster
    services: [wanzami-backend-service, wanzami-worker-transcode-svc, wanzami-worker-cron-svc]
    repository: wanzami-backend
    to_previous: true
    lock_parameter: /wanzami/production/release-lock
    record_parameter: /wanzami/production/release

- name: Dry run, what a release of a digest would change (read-only)
  wanzami.infra.ecs_release:
    cluster: wanzami-cluster
    services: [wanzami-backend-service, wanzami-worker-transcode-svc, wanzami-worker-cron-svc]
    repository: wanzami-backend
    image_digest: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    lock_parameter: /wanzami/production/release-lock
  check_mode: true
  diff: true
  register: plan
"""

RETURN = r"""
release:
  description: What the release did (in check mode, what it would do). Also returned, as it stood, when it fails.
  returned: always
  type: dict
  contains:
    tag:
      description: The released tag (with O(to_previous), the previous release's); null for a digest.
      type: str
      sample: "2024-06-01.3"
    digest:
      description: The released digest.
      type: str
      sample: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    image:
      description: The pinned image the task definitions get.
      type: str
      sample: >-
        123456789012.dkr.ecr.us-east-2.amazonaws.com/wanzami-backend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    services:
      description:
        - For each service, C(previous) (C(family:revision) before the release), C(current) (after it; in check
          mode, unchanged) and C(changed) (in check mode, whether it would change).
      type: dict
      sample: {wanzami-backend-service: {previous: "wanzami-backend-task:4", current: "wanzami-backend-task:5", changed: true}}
      contains:
        desired_count:
          description: Only for a service the first release starts (O(desired_counts)), C(before) (C(0)) and C(after).
          type: dict
          sample: {before: 0, after: 2}
    scheduled_tasks:
      description: The same for each scheduled task (EventBridge rule).
      type: dict
    migration:
      description: C(task_arn), C(container) and C(exit_code) of the migration task; empty when none ran.
      type: dict
    smoke_test:
      description:
        - C(url) and the last C(status) it answered (null when it did not answer); empty when none ran.
        - C(through), the load balancer's DNS name the GET went to, when the URL names O(smoke_test.host).
      type: dict
    record:
      description: The release record written; empty when none was written.
      type: dict
    lock_holder:
      description:
        - In check mode, who holds the lock now (null when free); otherwise the holder of a lock broken with
          O(break_lock), or null.
      type: str
    pruned:
      description: The revisions deregistered (C(family:revision)).
      type: list
      elements: str
    blockers:
      description:
        - Check mode only. What a real run would stop at because it does not exist yet, each also given as a warning
          with C(changed=false); the dry run reports them instead of failing, so it can run before the first site.yml
          or push. An image not in ECR, a cluster, service or scheduled task rule that does not exist, no release
          record to go back to. Anything that exists but is wrong (a service on another deployment controller, a task
          definition without a container of O(repository)) fails check mode too.
      type: list
      elements: str
      sample: ["cluster wanzami-cluster does not exist"]
    rolled_back:
      description: Whether a failed release was rolled back (also returned at the top level of a failure).
      type: bool
    duration:
      description: Seconds the module took.
      type: float
      sample: 74.2
diff:
  description:
    - C(before) and C(after) of each service and scheduled task that changes, by name, as its task definition
      (C(taskDefinition), C(family:revision)) and C(containerDefinitions), where only the image of the repository's
      containers differs, so that C(--diff) shows the change as a diff of the container definitions (with
      O(to_previous), the C(family:revision) alone).
  returned: always
  type: dict
rolled_back:
  description: On failure, whether the release was rolled back.
  returned: failure
  type: bool
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.release import Clients
from ansible_collections.wanzami.infra.plugins.module_utils.release import Release
from ansible_collections.wanzami.infra.plugins.module_utils.release import ReleaseError
from ansible_collections.wanzami.infra.plugins.module_utils.release import default_who
from ansible_collections.wanzami.infra.plugins.module_utils.release import validate


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        services=dict(type="list", elements="str", required=True),
        scheduled_tasks=dict(type="list", elements="str", default=[]),
        repository=dict(type="str", required=True),
        registry=dict(type="str"),
        image_tag=dict(type="str"),
        image_digest=dict(type="str"),
        to_previous=dict(type="bool", default=False),
        migration=dict(
            type="dict",
            options=dict(
                service=dict(type="str", required=True),
                command=dict(type="list", elements="str", required=True),
                container=dict(type="str"),
                timeout=dict(type="int", default=600),
            ),
        ),
        desired_counts=dict(type="dict"),
        wait_timeout=dict(type="int", default=900),
        poll_interval=dict(type="float", default=10),
        smoke_test=dict(
            type="dict",
            options=dict(
                url=dict(type="str"),
                load_balancer=dict(type="str"),
                scheme=dict(type="str", choices=["http", "https"], default="http"),
                host=dict(type="str"),
                path=dict(type="str", default="/"),
                status=dict(type="int", default=200),
                timeout=dict(type="int", default=60),
                interval=dict(type="float", default=5),
            ),
            mutually_exclusive=[["url", "load_balancer"]],
            required_one_of=[["url", "load_balancer"]],
        ),
        rollback_on_failure=dict(type="bool", default=True),
        record_parameter=dict(type="str"),
        lock_parameter=dict(type="str"),
        tags=dict(type="dict"),
        lock_wait=dict(type="int", default=0),
        break_lock=dict(type="bool", default=False),
        who=dict(type="str"),
        keep_revisions=dict(type="int", default=10),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if not module.params["who"]:
        module.params["who"] = default_who()
    error = validate(module.params)
    if error:
        module.fail_json(msg=error)
    release = Release(module, Clients(module))
    try:
        result = release.run()
    except ReleaseError as e:
        module.fail_json(msg=e.msg, **e.result)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
