"""Site Recovery gateway: the only module that calls Azure.

Reads are done in bulk (a fixed number of list calls per plan, run concurrently) and
converted into `site_recovery_models` dataclasses (`site_recovery_convert`). Reads retry as
azure-core does (429 after its Retry-After; 5xx and dropped connections with exponential
backoff, here jittered). Writes (an operation's `submit`, job restart) are sent with
retries off and explicit timeouts shorter than the runner's lease: a write must never go out
twice, so the caller decides about any resend after looking at the protected item and its
recent jobs.
Writes are signed as Azure PowerShell signs them (`gateways.agent_auth`) with the vault's
integrity key, read once and cached, never logged.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
    map_error,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import CredentialUnavailableError, DefaultAzureCredential
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery.models import ReplicationProtectedItem

from gateways.agent_auth import signed_headers
from gateways.errors import SiteRecoveryAuthError, SiteRecoveryError
from gateways.rcm_models import MODERNIZED_PROVIDERS, ModernizedPlanContext
from gateways.site_recovery_convert import (
    _config_server,
    _failback_policy,
    _float,
    _item,
    _item_path,
    _job,
    _plan,
    _vcenter,
    reprotect_body,
)
from gateways.site_recovery_models import (
    Accepted,
    Job,
    PlanContext,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
)
from gateways.site_recovery_rcm import (
    RCM_FAILBACK,
    rcm_fabric,
    rcm_failback_policy,
    rcm_item,
)
from gateways.timestamps import utc

T = TypeVar("T")
log = logging.getLogger(__name__)

JOB_FROM_LOCATION = re.compile(r"/operationresults/(?P<job>[^/?]+)", re.IGNORECASE)
JOB_FROM_ID = re.compile(r"/replicationJobs/(?P<job>[^/?]+)", re.IGNORECASE)
EXTENDED_INFO_API = "2023-04-01"
READ_RETRIES = 4
READ_BACKOFF_S = 0.5
READ_BACKOFF_MAX_S = 20
# (connect, read) seconds for writes: well inside the runner's 60 s run lease, so an answer
# that does not come is given up on before another replica may look at the run.
WRITE_TIMEOUTS = (10.0, 30.0)


class JitteredRetry(RetryPolicy[Any, Any]):
    """azure-core's retry with jitter on its exponential backoff, so that runs and replicas
    that failed together do not come back together. Retry-After (429) is honoured as sent."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return float(super().get_backoff_time(settings)) * random.uniform(0.5, 1.5)


def job_name(job_id: str) -> str:
    """The job's GUID from an ARM id or a bare name."""
    match = JOB_FROM_ID.search(job_id)
    return match.group("job") if match else job_id


class AzureSiteRecovery:
    """`core.ports.SiteRecovery` over the real `azure-mgmt-recoveryservicessiterecovery` client."""

    def __init__(self, *, subscription_id: str, resource_group: str, vault: str,
                 arm_endpoint: str, credential: Any | None = None) -> None:
        self._rg = resource_group
        self._vault = vault
        self._vault_path = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                            f"/providers/Microsoft.RecoveryServices/vaults/{vault}")
        self._credential = credential or DefaultAzureCredential()
        self._client = SiteRecoveryManagementClient(
            self._credential, subscription_id, base_url=arm_endpoint.rstrip("/"),
            retry_policy=JitteredRetry(retry_total=READ_RETRIES,
                                       retry_backoff_factor=READ_BACKOFF_S,
                                       retry_backoff_max=READ_BACKOFF_MAX_S),
        )
        self._pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="asr-read")
        self._key: str | None = None
        self._key_forbidden = False
        self._key_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._client.close()
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()

    # -- reads ---------------------------------------------------------------------------

    def list_plans(self) -> list[RecoveryPlan]:
        return _call(
            "list the vault's recovery plans",
            lambda: [_plan(p) for p in self._client.replication_recovery_plans.list(
                self._rg, self._vault)],
        )

    def plan_context(self, plan: RecoveryPlan) -> PlanContext:
        """Items, fabric, policies, mappings and vCenters in five concurrent list calls; for a
        plan with modernized items, one more: the vault's items (appliance disk counts)."""
        items_f = self._pool.submit(self._raw_plan_items, plan)
        fabrics_f = self._pool.submit(self._list, "list the vault's fabrics",
                                      self._client.replication_fabrics.list)
        policies_f = self._pool.submit(self._list, "list the vault's replication policies",
                                       self._client.replication_policies.list)
        mappings_f = self._pool.submit(
            self._list, "list the vault's container mappings",
            self._client.replication_protection_container_mappings.list)
        vcenters_f = self._pool.submit(self._optional, self._list,
                                       "list the vault's discovered vCenters",
                                       self._client.replicationv_centers.list)
        key_f = self._pool.submit(self._integrity_key)
        raw_items = items_f.result()
        items = tuple(_item(i) for i in raw_items)
        modernized = any(i.provider.lower() in MODERNIZED_PROVIDERS for i in items)
        vault_f = self._pool.submit(self._list, "list the vault's protected items",
                                    self._client.replication_protected_items.list) \
            if modernized else None
        key = key_f.result()  # before reading `_key_forbidden`, which that read sets
        fabrics = fabrics_f.result()
        config_server = _config_server(fabrics, items)
        policies, mappings = policies_f.result(), mappings_f.result()
        policy = _failback_policy(policies, mappings, config_server)
        vcenters = tuple(_vcenter(v) for v in vcenters_f.result() or ())
        context = PlanContext(plan=plan, items=items, config_server=config_server,
                              failback_policy=policy, vault_extended_info=key is not None,
                              vault_extended_info_forbidden=self._key_forbidden,
                              vcenters=tuple(v for v in vcenters if config_server is None
                                             or v.fabric_name.lower()
                                             == config_server.fabric_name.lower()))
        if vault_f is None:
            return context
        fabric = rcm_fabric(fabrics, items)
        return ModernizedPlanContext(
            **{f.name: getattr(context, f.name) for f in fields(context)},
            rcm_items=tuple(rcm_item(i) for i in raw_items), fabric=fabric,
            rcm_policy=rcm_failback_policy(policies, mappings, fabric.fabric_name)
            if fabric else None,
            failing_back=tuple(r for r in map(rcm_item, vault_f.result())
                               if r.provider == RCM_FAILBACK))

    def get_item(self, item_id: str) -> ProtectedItem:
        return _item(self._get_raw_item(item_id))

    def _get_raw_item(self, item_id: str) -> ReplicationProtectedItem:
        fabric, container, name = _item_path(item_id)
        return _call(
            f"read protected item {name}",
            lambda: self._client.replication_protected_items.get(
                self._rg, self._vault, fabric, container, name),
        )

    def get_job(self, job_id: str) -> Job:
        name = job_name(job_id)
        return _call(f"read job {name}",
                     lambda: _job(self._client.replication_jobs.get(self._rg, self._vault, name)))

    def list_jobs(self, since: datetime) -> list[Job]:
        """The vault's jobs started since `since`, in one paged list (the filter as PowerShell
        writes it; filtered again here, the service's support of each key is undocumented)."""
        moment = utc(since)
        query = f"StartTime eq '{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z'"
        jobs = self._list("list the vault's recent jobs",
                          lambda rg, vault: self._client.replication_jobs.list(
                              rg, vault, filter=query))
        return [job for job in map(_job, jobs)
                if job.start_time is None or job.start_time >= moment]

    def _integrity_key(self) -> str | None:
        """The vault's channel integrity key, read once; None while the vault has none or it
        cannot be read (then writes go unsigned, as the Python SDK and az CLI send them)."""
        with self._key_lock:
            if self._key is None:
                self._key = self._optional(_call, "read the vault's extended information",
                                           self._read_integrity_key)
            return self._key

    @staticmethod
    def _optional(read: Callable[..., T], *args: Any) -> T | None:
        """A read the preflight can do without: its failure is logged and shown as a warning
        by the check that uses it, never an outage of the whole preflight. Refused
        credentials are not optional: they stop everything else too."""
        try:
            return read(*args)
        except SiteRecoveryAuthError:
            raise
        except SiteRecoveryError as exc:
            log.warning("optional Site Recovery read failed: %s (%s)", exc.what, exc.why)
            return None

    def _read_integrity_key(self) -> str | None:
        request = HttpRequest("GET", f"{self._vault_path}/extendedInformation/vaultExtendedInfo",
                              params={"api-version": EXTENDED_INFO_API})
        response = self._client.send_request(request)
        self._key_forbidden = response.status_code == 403
        if response.status_code in (403, 404):  # 403: the identity lacks the read permission
            if self._key_forbidden:
                log.warning("the vault's extended information is forbidden to the bot's "
                            "identity (HTTP 403): writes go unsigned")
            return None
        if response.status_code >= 400:
            map_error(response.status_code, response, {401: ClientAuthenticationError})
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        key = (response.json().get("properties") or {}).get("integrityKey")
        return str(key) if key else None

    def _signed(self, action: str) -> dict[str, str]:
        """Agent-Authentication and x-ms-client-request-id for one write."""
        key = self._integrity_key()
        if key is None:
            log.warning("sending %s unsigned: the vault's integrity key is not available",
                        action)
            return {}
        return signed_headers(key, datetime.now(UTC))

    # -- write ---------------------------------------------------------------------------

    def submit(self, operation: str, target: str, inputs: ProviderInput | None) -> Accepted:
        """Send an operation's write once (no SDK retry, signed); the job GUID when the answer
        names it. `operation` is the name stored on the run (`operations.OPERATIONS`)."""
        writes = {"reprotect": self._reprotect}
        if operation not in writes or inputs is None:
            raise ValueError(f"no write for operation {operation!r} with {inputs!r}")
        return writes[operation](target, inputs)

    def _reprotect(self, item_id: str, inputs: ProviderInput) -> Accepted:
        """POST reProtect on the item with the provider's values."""
        fabric, container, name = _item_path(item_id)
        body = reprotect_body(inputs)
        action = f"start reprotect of {name}"
        headers = self._signed(action)
        return _accepted(action, lambda hook: self._client.replication_protected_items
                         .begin_reprotect(self._rg, self._vault, fabric, container, name, body,
                                          polling=False, raw_response_hook=hook, retry_total=0,
                                          headers=headers, **_write_timeouts()))

    def restart_job(self, job_id: str) -> Accepted:
        """POST restart of a failed job once (no SDK retry, signed); the answer names the new
        job, which Site Recovery runs instead of the old one."""
        name = job_name(job_id)
        action = f"restart job {name}"
        headers = self._signed(action)
        return _accepted(action, lambda hook: self._client.replication_jobs.begin_restart(
            self._rg, self._vault, name, polling=False, raw_response_hook=hook, retry_total=0,
            headers=headers, **_write_timeouts()))

    # -- helpers -------------------------------------------------------------------------

    def _list(self, action: str, operation: Callable[[str, str], Iterable[T]]) -> list[T]:
        return _call(action, lambda: list(operation(self._rg, self._vault)))

    def plan_items(self, plan: RecoveryPlan) -> tuple[ProtectedItem, ...]:
        return tuple(_item(i) for i in self._raw_plan_items(plan))

    def _raw_plan_items(self, plan: RecoveryPlan) -> list[ReplicationProtectedItem]:
        """The plan's items from one filtered list; any the filter missed are read one by one."""
        listed = self._list(
            f"list the protected items of plan {plan.friendly_name}",
            lambda rg, vault: self._client.replication_protected_items.list(
                rg, vault, filter=f"RecoveryPlanName eq '{plan.name}'"),
        )
        by_id = {i.id.lower(): i for i in listed if i.id}
        return [by_id.get(item_id.lower()) or self._get_raw_item(item_id)
                for item_id in plan.item_ids]


def _write_timeouts() -> dict[str, Any]:
    """azure-core's per-call timeouts for a write (its default read timeout is 300 s)."""
    connect, read = WRITE_TIMEOUTS
    return {"connection_timeout": connect, "read_timeout": read}


def _accepted(action: str,
              send: Callable[[Callable[[PipelineResponse[Any, Any]], None]], object]) -> Accepted:
    """Send a write once and read its answer's headers: the job id and the Retry-After."""
    seen: dict[str, str] = {}

    def keep_headers(response: PipelineResponse[Any, Any]) -> None:
        seen.update({k.lower(): v for k, v in response.http_response.headers.items()})

    _call(action, lambda: send(keep_headers))
    return Accepted(job_from_headers(seen), _float(seen.get("retry-after")))


def job_from_headers(headers: dict[str, str]) -> str | None:
    """Job GUID from `Location: …/operationresults/{job}`, else from `x-ms-request-id`."""
    location = JOB_FROM_LOCATION.search(headers.get("location", ""))
    if location:
        return location.group("job")
    request_id = JOB_FROM_ID.search(headers.get("x-ms-request-id", ""))
    return request_id.group("job") if request_id else None


def _call(action: str, operation: Callable[[], T]) -> T:
    """Run one SDK call; turn its failures into `SiteRecoveryError`s that explain themselves."""
    try:
        return operation()
    except (ClientAuthenticationError, CredentialUnavailableError) as exc:
        raise SiteRecoveryAuthError(
            f"Authentication problem: Azure did not accept the bot's token while trying to "
            f"{action}.",
            _first_line(str(exc)),
            "Check the bot's Azure identity: the managed identity is assigned "
            "(IDENTITY_ENDPOINT/IDENTITY_HEADER), or AZURE_CLIENT_ID, AZURE_TENANT_ID and "
            "AZURE_CLIENT_SECRET are current (an expired client secret or certificate gives "
            "this) and belong to the vault's tenant. The bot carries on by itself once Azure "
            "accepts its token again.",
            status=getattr(exc, "status_code", None),
        ) from None
    except ResourceNotFoundError as exc:
        raise SiteRecoveryError(
            f"Site Recovery could not find what the bot asked for while trying to {action}.",
            _error_text(exc), "Check AZURE_SUBSCRIPTION_ID, ASR_RESOURCE_GROUP and ASR_VAULT_NAME.",
            status=404, code=_error_code(exc),
        ) from None
    except HttpResponseError as exc:
        status = exc.status_code
        if status == 403:
            raise SiteRecoveryAuthError(
                f"Authorization problem: Azure refused the bot's identity the right to {action}.",
                _error_text(exc),
                "Give the bot's identity the custom role of deploy/site-recovery-role.json "
                "(or Site Recovery Contributor) on the vault; Reader is not enough. Then wait "
                "a few minutes for the role to apply.",
                status=403, code=_error_code(exc)) from None
        raise SiteRecoveryError(
            f"Site Recovery refused to {action} (HTTP {status}).",
            _error_text(exc),
            "Wait a minute and try again." if status in (429, 500, 502, 503, 504)
            else "Fix the cause above, then run the command again.",
            status=status, code=_error_code(exc),
            retry_after=_float(getattr(exc.response, "headers", {}).get("Retry-After")),
        ) from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise SiteRecoveryError(
            f"Site Recovery could not be reached to {action}.", _first_line(str(exc)),
            "Check AZURE_ARM_ENDPOINT and the network path to Azure Resource Manager.",
        ) from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _error_code(exc: HttpResponseError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None)


def _error_text(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "message", None):
        code = getattr(error, "code", None)
        return f"{code}: {error.message}" if code else str(error.message)
    return _first_line(str(exc.message or exc))
