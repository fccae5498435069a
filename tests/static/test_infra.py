"""infra/*.tf holds what the deploy needs, with least privilege: checked by parsing HCL, no cloud."""

from __future__ import annotations

import base64
import inspect
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from backends.firestore_store import FirestoreCoinStore
from common.document import to_dict
from tests.factories import make_document

if TYPE_CHECKING:
    from tests.static.conftest import Infra

pytestmark = pytest.mark.static

BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
REPO_ROOT = Path(__file__).resolve().parents[2]
PUBSUB_AGENT_DOMAIN = "gcp-sa-pubsub.iam.gserviceaccount.com"
TARGET_KEYS = ("subscription", "topic", "repository", "service_account_id", "name")


def env_of(infra: Infra, container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in infra.blocks(container, "env")}


def iam_grants(infra: Infra) -> list[tuple[str, str, str]]:
    """(member, role, target) for every *_iam_member resource; target is "project" or "type.name"."""
    grants = []
    for resource_type, _name, body in infra.all_resources():
        if not resource_type.endswith("_iam_member"):
            continue
        if resource_type == "google_project_iam_member":
            target = "project"
        else:
            target = next(
                (ref for key in TARGET_KEYS if (ref := infra.ref(body.get(key))) is not None),
                f"{resource_type}:unresolved",
            )
        member = body["member"]
        member = infra.ref(member) or str(infra.resolve(member))
        grants.append((member, body["role"], target))
    return grants


def grants_to(infra: Infra, service_account: str) -> set[tuple[str, str]]:
    member = f"google_service_account.{service_account}"
    return {(role, target) for who, role, target in iam_grants(infra) if who == member}


# --- Pub/Sub ------------------------------------------------------------------------------------------


def test_refresh_and_dead_letter_topics_exist(infra: Infra) -> None:
    names = {infra.resolve(body["name"]) for body in infra.of_type("google_pubsub_topic").values()}
    assert names == {"delos-refresh", "delos-refresh-dead"}


def test_ingest_is_a_pull_subscription_on_the_refresh_topic_with_a_sized_ack_deadline(infra: Infra) -> None:
    _, subscription = infra.find("google_pubsub_subscription", name="delos-ingest")
    topic_name, _ = infra.find("google_pubsub_topic", name="delos-refresh")
    assert infra.ref(subscription["topic"]) == f"google_pubsub_topic.{topic_name}"
    assert "push_config" not in subscription, "the worker pulls; a push endpoint would bypass it"
    ack_deadline = infra.resolve(subscription["ack_deadline_seconds"])
    assert 60 <= ack_deadline <= 600, "a coin's worst-case fetch needs about 2 minutes"


def _seconds(duration: str) -> float:
    """A Terraform duration such as "120s" or "1.5s", in seconds."""
    assert re.fullmatch(r"\d+(\.\d+)?s", duration), duration
    return float(duration[:-1])


def _retry_budget_s(infra: Infra) -> tuple[float, float]:
    """Seconds an ingest message waits out before it is dead-lettered: (doubling backoff, backoff never growing).

    Pub/Sub dead-letters on the max_delivery_attempts-th failed delivery, so a message has one backoff fewer
    than its attempts; the backoff grows from minimum to maximum, best effort (it may not grow at all).
    """
    _, subscription = infra.find("google_pubsub_subscription", name="delos-ingest")
    retry = infra.block(subscription, "retry_policy")
    minimum_s, maximum_s = _seconds(retry["minimum_backoff"]), _seconds(retry["maximum_backoff"])
    attempts = infra.resolve(infra.block(subscription, "dead_letter_policy")["max_delivery_attempts"])
    doubling = sum(min(minimum_s * 2**n, maximum_s) for n in range(attempts - 1))
    return doubling, minimum_s * (attempts - 1)


def test_ingest_retries_with_exponential_backoff(infra: Infra) -> None:
    _, subscription = infra.find("google_pubsub_subscription", name="delos-ingest")
    retry = infra.block(subscription, "retry_policy")
    assert 0 < _seconds(retry["minimum_backoff"]) < _seconds(retry["maximum_backoff"]) <= 600


def test_ingest_messages_outlive_a_fifteen_minute_exchange_outage_before_dead_lettering(infra: Infra) -> None:
    doubling_s, never_growing_s = _retry_budget_s(infra)
    assert never_growing_s >= 15 * 60, "even if Pub/Sub never grew the backoff"
    assert 15 * 60 + 5 * 60 <= doubling_s <= 3 * 3600, "with margin, and not retrying for the rest of the day"


def test_ingest_dead_letters_to_the_dead_topic_after_bounded_attempts(infra: Infra) -> None:
    _, subscription = infra.find("google_pubsub_subscription", name="delos-ingest")
    dead_name, _ = infra.find("google_pubsub_topic", name="delos-refresh-dead")
    policy = infra.block(subscription, "dead_letter_policy")
    assert infra.ref(policy["dead_letter_topic"]) == f"google_pubsub_topic.{dead_name}"
    assert 5 <= infra.resolve(policy["max_delivery_attempts"]) <= 100


def test_dead_letters_can_be_read_from_an_inspect_subscription(infra: Infra) -> None:
    dead_name, _ = infra.find("google_pubsub_topic", name="delos-refresh-dead")
    _, inspect = infra.find("google_pubsub_subscription", name="delos-refresh-dead-inspect")
    assert infra.ref(inspect["topic"]) == f"google_pubsub_topic.{dead_name}"


def test_pubsub_service_agent_may_publish_dead_letters_and_ack_the_source(infra: Infra) -> None:
    dead_name, _ = infra.find("google_pubsub_topic", name="delos-refresh-dead")
    ingest_name, _ = infra.find("google_pubsub_subscription", name="delos-ingest")
    agent_grants = {
        (role, target) for member, role, target in iam_grants(infra) if member.endswith(PUBSUB_AGENT_DOMAIN)
    }
    assert agent_grants == {
        ("roles/pubsub.publisher", f"google_pubsub_topic.{dead_name}"),
        ("roles/pubsub.subscriber", f"google_pubsub_subscription.{ingest_name}"),
    }
    agent = infra.resolve("${local.pubsub_service_agent}")
    assert re.fullmatch(
        r"serviceAccount:service-\$\{data\.google_project\.\w+\.number\}@" + re.escape(PUBSUB_AGENT_DOMAIN), agent
    )


# --- Scheduler ----------------------------------------------------------------------------------------


def _is_all_true(data_expression: str) -> bool:
    """The message data is base64 of {"all": true}, literal or built with jsonencode."""
    if re.search(r"jsonencode\(\{\s*all\s*=\s*true\s*\}\)", data_expression):
        return True
    try:
        return base64.b64decode(data_expression).decode().replace(" ", "") == '{"all":true}'
    except ValueError:
        return False


def test_scheduler_publishes_all_true_with_a_run_key_to_the_refresh_topic(infra: Infra) -> None:
    jobs = infra.of_type("google_cloud_scheduler_job")
    assert len(jobs) == 1
    (job,) = jobs.values()
    refresh_name, _ = infra.find("google_pubsub_topic", name="delos-refresh")
    assert isinstance(infra.resolve(job["schedule"]), str)
    assert infra.variables["refresh_schedule"]["default"] == "0 3 * * *"
    if "pubsub_target" in job:
        target = infra.block(job, "pubsub_target")
        assert infra.ref(target["topic_name"]) == f"google_pubsub_topic.{refresh_name}"
        data, attributes = target["data"], target["attributes"]
    else:
        target = infra.block(job, "http_target")
        assert target["http_method"] == "POST"
        assert target["uri"] == f"https://pubsub.googleapis.com/v1/${{google_pubsub_topic.{refresh_name}.id}}:publish"
        oauth_token = infra.block(target, "oauth_token")
        assert infra.ref(oauth_token["service_account_email"]) == "google_service_account.scheduler"
        body_local = re.fullmatch(r"\$\{base64encode\(jsonencode\(local\.(\w+)\)\)\}", target["body"])
        assert body_local, target["body"]
        (message,) = infra.locals[body_local.group(1)]["messages"]
        data, attributes = message["data"], message["attributes"]
    assert _is_all_true(data), data
    assert infra.resolve(attributes["run_key"]), "scheduled messages carry a run_key attribute"


# --- Firestore, registry, APIs ------------------------------------------------------------------------


def test_firestore_default_database_is_native_mode(infra: Infra) -> None:
    _, database = infra.find("google_firestore_database", name="(default)")
    assert database["type"] == "FIRESTORE_NATIVE"


def test_artifact_registry_holds_docker_images(infra: Infra) -> None:
    (repository,) = infra.of_type("google_artifact_registry_repository").values()
    assert repository["format"] == "DOCKER"


def test_required_apis_are_enabled(infra: Infra) -> None:
    (services,) = infra.of_type("google_project_service").values()
    enabled = set(re.findall(r"[a-z]+\.googleapis\.com", str(infra.resolve(services["for_each"]))))
    assert {
        "pubsub.googleapis.com",
        "firestore.googleapis.com",
        "run.googleapis.com",
        "cloudscheduler.googleapis.com",
        "artifactregistry.googleapis.com",
        "iamcredentials.googleapis.com",
        "sts.googleapis.com",
        "monitoring.googleapis.com",
    } <= enabled


# --- Cloud Run ----------------------------------------------------------------------------------------


def test_query_service_speaks_http2_and_is_probed_over_grpc_health(infra: Infra) -> None:
    _, service = infra.find("google_cloud_run_v2_service", name="delos-query")
    template = infra.block(service, "template")
    (container,) = infra.blocks(template, "containers")
    port = infra.block(container, "ports")
    assert port["name"] == "h2c"
    for probe in ("startup_probe", "liveness_probe"):
        grpc_probe = infra.block(infra.block(container, probe), "grpc")
        assert grpc_probe.get("service", "") in ("", "grpc.health.v1.Health"), "probe the standard health service"
    assert infra.resolve(infra.block(template, "scaling")["min_instance_count"]) >= 1
    assert infra.block(container, "resources")["cpu_idle"] is False, "the snapshot listener needs CPU between requests"


def test_query_service_runs_in_gcp_mode_on_all_interfaces_as_its_own_account(infra: Infra) -> None:
    _, service = infra.find("google_cloud_run_v2_service", name="delos-query")
    template = infra.block(service, "template")
    (container,) = infra.blocks(template, "containers")
    env = env_of(infra, container)
    assert env["DELOS_BACKEND"] == "gcp"
    assert env["DELOS_HOST"] == "0.0.0.0"
    assert env["GOOGLE_CLOUD_PROJECT"] == "${var.project_id}"
    assert "PORT" not in env, "Cloud Run sets PORT from the container port"
    assert infra.ref(template["service_account"]) == "google_service_account.query"


def test_worker_has_cpu_always_allocated_and_at_least_one_instance(infra: Infra) -> None:
    pools = infra.of_type("google_cloud_run_v2_worker_pool")
    if pools:
        _, worker = infra.find("google_cloud_run_v2_worker_pool", name="delos-worker")
        scaling = infra.block(worker, "scaling")
        count = scaling.get("manual_instance_count", scaling.get("min_instance_count", 0))
        assert infra.resolve(count) >= 1
    else:
        _, worker = infra.find("google_cloud_run_v2_service", name="delos-worker")
        assert infra.block(infra.block(infra.block(worker, "template"), "containers"), "resources")["cpu_idle"] is False
        assert infra.resolve(infra.block(infra.block(worker, "template"), "scaling")["min_instance_count"]) >= 1
    template = infra.block(worker, "template")
    (container,) = infra.blocks(template, "containers")
    env = env_of(infra, container)
    assert env["DELOS_BACKEND"] == "gcp"
    assert infra.ref(env["DELOS_SUBSCRIPTION"]) == "google_pubsub_subscription.ingest"
    assert infra.ref(env["DELOS_TOPIC"]) == "google_pubsub_topic.refresh"
    assert infra.ref(template["service_account"]) == "google_service_account.worker"


# --- IAM ----------------------------------------------------------------------------------------------


def test_runtime_service_accounts_hold_exactly_their_roles(infra: Infra) -> None:
    assert grants_to(infra, "worker") == {
        ("roles/pubsub.subscriber", "google_pubsub_subscription.ingest"),
        ("roles/pubsub.publisher", "google_pubsub_topic.refresh"),
        ("roles/datastore.user", "project"),
    }
    assert grants_to(infra, "query") == {("roles/datastore.viewer", "project")}
    assert grants_to(infra, "scheduler") == {("roles/pubsub.publisher", "google_pubsub_topic.refresh")}


def test_operators_read_the_store_replay_dead_letters_and_publish_refreshes_only(infra: Infra) -> None:
    operator_grants = [
        body for _, _, body in infra.all_resources() if "var.operator_members" in body.get("for_each", "")
    ]
    assert all(body["member"] == "${each.value}" for body in operator_grants)
    targets = {
        ("project" if "project" in body else infra.ref(body.get("subscription") or body.get("topic")), body["role"])
        for body in operator_grants
    }
    assert targets == {
        ("project", "roles/datastore.viewer"),
        ("google_pubsub_subscription.dead_letter_inspect", "roles/pubsub.subscriber"),
        ("google_pubsub_topic.refresh", "roles/pubsub.publisher"),
    }
    assert len(operator_grants) == 3


def test_deployer_can_push_deploy_and_act_as_the_runtime_accounts_only(infra: Infra) -> None:
    assert grants_to(infra, "deployer") == {
        ("roles/artifactregistry.writer", "google_artifact_registry_repository.images"),
        ("roles/run.developer", "google_cloud_run_v2_service.query"),
        ("roles/run.developer", "google_cloud_run_v2_worker_pool.worker"),
        ("roles/iam.serviceAccountUser", "google_service_account.query"),
        ("roles/iam.serviceAccountUser", "google_service_account.worker"),
    }


def test_no_basic_roles_and_no_authoritative_project_policies(infra: Infra) -> None:
    roles = {body.get("role") for _type, _name, body in infra.all_resources()}
    assert not roles & BASIC_ROLES
    assert not re.search(r"roles/(owner|editor)\b", infra.text)
    authoritative = {"google_project_iam_policy", "google_project_iam_binding"}
    assert not authoritative & set(infra.resources)


def test_no_service_account_keys(infra: Infra) -> None:
    assert "google_service_account_key" not in infra.resources
    assert "google_service_account_key" not in infra.text


def test_github_federation_is_restricted_to_the_repository(infra: Infra) -> None:
    assert infra.of_type("google_iam_workload_identity_pool")
    (provider,) = infra.of_type("google_iam_workload_identity_pool_provider").values()
    assert infra.block(provider, "oidc")["issuer_uri"] == "https://token.actions.githubusercontent.com"
    condition = provider["attribute_condition"]
    assert "${var.github_repository}" in condition and "assertion." in condition
    _, binding = infra.find("google_service_account_iam_member", role="roles/iam.workloadIdentityUser")
    assert infra.ref(binding["service_account_id"]) == "google_service_account.deployer"
    assert binding["member"].startswith("principalSet://iam.googleapis.com/")
    assert binding["member"].endswith("/attribute.repository/${var.github_repository}")


# --- Monitoring, variables, outputs -------------------------------------------------------------------


def _alert_filters(infra: Infra) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for policy in infra.of_type("google_monitoring_alert_policy").values():
        for condition in infra.blocks(policy, "conditions"):
            threshold = infra.block(condition, "condition_threshold")
            found.append((threshold["filter"], threshold))
    return found


def test_alert_on_any_dead_lettered_message(infra: Infra) -> None:
    matches = [
        threshold
        for text, threshold in _alert_filters(infra)
        if "num_undelivered_messages" in text and "google_pubsub_subscription.dead_letter_inspect" in text
    ]
    assert len(matches) == 1
    assert matches[0]["comparison"] == "COMPARISON_GT" and matches[0]["threshold_value"] == 0


def test_alert_on_old_unacked_ingest_messages(infra: Infra) -> None:
    matches = [
        threshold
        for text, threshold in _alert_filters(infra)
        if "oldest_unacked_message_age" in text and "google_pubsub_subscription.ingest" in text
    ]
    assert len(matches) == 1
    assert matches[0]["comparison"] == "COMPARISON_GT"
    assert infra.resolve(matches[0]["threshold_value"]) > 0


def test_operator_inputs_and_outputs(infra: Infra) -> None:
    assert {
        "project_id",
        "region",
        "query_image",
        "worker_image",
        "refresh_schedule",
        "coins",
        "github_repository",
        "notification_channels",
    } <= set(infra.variables)
    assert {"query_service_url", "workload_identity_provider", "deployer_service_account", "registry_url"} <= set(
        infra.outputs
    )


# --- First deploy: ordering, probe window, provider, idempotent pipeline ------------------------------

CLOUD_RUN_STARTUP_PROBE_CAP_SECONDS = 240
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "push.yml"


def test_query_service_waits_for_the_database_and_its_read_grant(infra: Infra) -> None:
    _, service = infra.find("google_cloud_run_v2_service", name="delos-query")
    depends_on = {infra.ref(item) or item for item in service["depends_on"]}
    assert {"google_firestore_database.default", "google_project_iam_member.query_datastore_viewer"} <= depends_on


def test_query_startup_probe_allows_close_to_cloud_runs_cap(infra: Infra) -> None:
    _, service = infra.find("google_cloud_run_v2_service", name="delos-query")
    (container,) = infra.blocks(infra.block(service, "template"), "containers")
    probe = infra.block(container, "startup_probe")
    window = probe.get("initial_delay_seconds", 0) + probe["period_seconds"] * probe["failure_threshold"]
    assert 180 <= window <= CLOUD_RUN_STARTUP_PROBE_CAP_SECONDS, window
    assert probe["timeout_seconds"] <= probe["period_seconds"]


def test_provider_is_at_least_7_18_and_below_8(infra: Infra) -> None:
    versions = (REPO_ROOT / "infra" / "versions.tf").read_text()
    assert re.search(r'version\s*=\s*">=\s*7\.18,\s*<\s*8\.0"', versions), "7.0-7.17 diff the worker pool forever"


def test_worker_pool_leaves_scaling_mode_to_the_provider(infra: Infra) -> None:
    _, worker = infra.find("google_cloud_run_v2_worker_pool", name="delos-worker")
    assert "scaling_mode" not in infra.block(worker, "scaling")


def test_deploy_reuses_existing_images_and_moves_traffic_to_the_checked_revision() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["build-deploy"]["steps"]
    by_name = {step.get("name", ""): step for step in steps}
    check = next(step for step in steps if "docker images describe" in step.get("run", ""))
    pushes = [step for step in steps if "docker push" in step.get("run", "") or "docker build" in step.get("run", "")]
    assert pushes and all(step.get("if") == f"steps.{check['id']}.outputs.exist != 'true'" for step in pushes)
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "--to-latest" not in runs
    traffic = next(step for step in steps if "update-traffic" in step.get("run", ""))
    assert '--to-revisions="${REVISION}=100"' in traffic["run"]
    ready_step = next(step for name, step in by_name.items() if "Ready" in name)
    assert traffic["env"]["REVISION"] == f"${{{{ steps.{ready_step['id']}.outputs.name }}}}"


@pytest.mark.parametrize("gitignore", [".gitignore", "infra/.gitignore"])
def test_terraform_state_and_variable_files_are_ignored_by_git(gitignore: str) -> None:
    ignored = set((REPO_ROOT / gitignore).read_text().split())
    assert {".terraform/", "*.tfstate", "*.tfstate.*", "*.tfvars"} <= ignored


# --- Log-based metrics and their alerts ---------------------------------------------------------------


def _alert_on(infra: Infra, metric_resource: str) -> dict[str, Any]:
    """The one alert threshold whose filter reads the log-based metric `metric_resource`."""
    reference = f"${{google_logging_metric.{metric_resource}.name}}"
    matches = [threshold for text, threshold in _alert_filters(infra) if reference in text]
    assert len(matches) == 1, f"expected one alert on {metric_resource}, found {len(matches)}"
    return matches[0]


def test_alert_on_refresh_failures_by_exchange(infra: Infra) -> None:
    metric = infra.one("google_logging_metric", "refresh_failures")
    assert 'jsonPayload.outcome=("failed" OR "retry")' in metric["filter"]
    assert metric["label_extractors"]["exchange"] == "EXTRACT(jsonPayload.exchange)"
    threshold = _alert_on(infra, "refresh_failures")
    assert infra.block(threshold, "aggregations")["group_by_fields"] == ["metric.label.exchange"]
    assert threshold["comparison"] == "COMPARISON_GT"


def test_alert_on_any_coin_stale_for_more_than_two_days(infra: Infra) -> None:
    metric = infra.one("google_logging_metric", "coins_stale")
    assert metric["filter"] == 'jsonPayload.metric="delos.coins.stale"'
    assert metric["value_extractor"] == "EXTRACT(jsonPayload.value)"
    threshold = _alert_on(infra, "coins_stale")
    assert threshold["comparison"] == "COMPARISON_GT" and 0 < threshold["threshold_value"] < 1


def test_alert_on_query_service_errors(infra: Infra) -> None:
    metric = infra.one("google_logging_metric", "query_errors")
    assert "jsonPayload.rpc:*" in metric["filter"] and "jsonPayload.status=" in metric["filter"]
    assert {"INTERNAL", "UNAVAILABLE"} <= set(infra.locals["query_error_statuses"])
    assert not {"NOT_FOUND", "INVALID_ARGUMENT"} & set(infra.locals["query_error_statuses"])
    assert _alert_on(infra, "query_errors")["comparison"] == "COMPARISON_GT"


def test_both_services_export_metrics_as_log_entries(infra: Infra) -> None:
    _, query = infra.find("google_cloud_run_v2_service", name="delos-query")
    _, worker = infra.find("google_cloud_run_v2_worker_pool", name="delos-worker")
    for resource in (query, worker):
        (container,) = infra.blocks(infra.block(resource, "template"), "containers")
        assert env_of(infra, container)["DELOS_METRICS"] == "gcp"


def test_coin_documents_packed_numbers_are_exempt_from_indexing(infra: Infra) -> None:
    (exemption,) = infra.of_type("google_firestore_field").values()
    fields = set(re.findall(r'"(\w+)"', str(infra.resolve(exemption["for_each"]))))
    assert fields == {"history", "last_month"} <= set(to_dict(make_document()))
    assert exemption["collection"] == inspect.signature(FirestoreCoinStore).parameters["collection"].default
    assert infra.blocks(exemption, "index_config") == [{}], "an empty index_config disables the field's indexes"
