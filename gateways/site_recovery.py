"""Site Recovery gateway: the only module that calls Azure.

Reads are done in bulk (a fixed number of list calls per plan, run concurrently) and
converted into `site_recovery_models` dataclasses (`site_recovery_convert`). Reads retry as
azure-core does (429 after its Retry-After; 5xx and dropped connections with exponential
backoff, here jittered). Writes (an operation's `submit`: reprotect in either direction, and
the failback journey's failover, commit and cancel in `site_recovery_failback`; job restart)
all go through `_write`: retries off and explicit timeouts shorter than the runner's lease
(`site_recovery_calls`): a write must never go out twice, so the caller decides about any
resend after looking at the protected item and its recent jobs.
Writes are signed as Azure PowerShell signs them (`gateways.agent_auth`) with the vault's
integrity key, read once and cached, never logged; the token and key fetched before a write
share its deadline (`gateways.write_deadline`).
"""

from __future__ import annotations

import fnmatch
import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    map_error,
)
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import DefaultAzureCredential
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m
from azure.mgmt.recoveryservicessiterecovery.models import ReplicationProtectedItem

from gateways.agent_auth import signed_headers
from gateways.errors import SiteRecoveryAuthError, SiteRecoveryError
from gateways.rcm_models import MODERNIZED_PROVIDERS, ModernizedPlanContext
from gateways.site_recovery_calls import (
    WRITE_TIMEOUTS,
    _accepted,
    _call,
    _write_timeouts,
)
from gateways.site_recovery_calls import job_from_headers as job_from_headers
from gateways.site_recovery_calls import job_name as job_name
from gateways.site_recovery_convert import (
    _config_server,
    _failback_policy,
    _item,
    _item_path,
    _job,
    _plan,
    _vcenter,
    plan_name,
    reprotect_body,
)
from gateways.site_recovery_failback import (
    FailbackWrites,
    failback_item,
    forward_targets,
    plan_state,
)
from gateways.site_recovery_failback_models import (
    ClassicPoint,
    FailbackContext,
    FailbackInput,
    FailbackItem,
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
from gateways.write_deadline import Hook, bounded_write

T = TypeVar("T")
log = logging.getLogger(__name__)

EXTENDED_INFO_API = "2023-04-01"
PERMISSIONS_API = "2022-04-01"
# The writes the bot sends; `check` asks Azure RBAC whether the identity may send them.
_ITEMS = ("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
          "replicationProtectedItems")
_PLANS = "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans"
WRITE_ACTIONS = (
    f"{_ITEMS}/reProtect/action",
    "Microsoft.RecoveryServices/vaults/replicationJobs/restart/action",
    # commit and cancel a failback, on the recovery plan or on each named item
    *(f"{scope}/{action}/action" for action in ("failoverCommit", "failoverCancel")
      for scope in (_PLANS, _ITEMS)),
)
READ_RETRIES = 4
READ_BACKOFF_S = 0.5
READ_BACKOFF_MAX_S = 20


class JitteredRetry(RetryPolicy[Any, Any]):
    """azure-core's retry with jitter on its exponential backoff, so that runs and replicas
    that failed together do not come back together. Retry-After (429) is honoured as sent."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return float(super().get_backoff_time(settings)) * random.uniform(0.5, 1.5)


@contextmanager
def _unobserved(_: str) -> Iterator[None]:
    yield


class AzureSiteRecovery(FailbackWrites):
    """`core.ports.SiteRecovery` over the real `azure-mgmt-recoveryservicessiterecovery`
    client (the failback journey's writes: `FailbackWrites`)."""

    def __init__(self, *, subscription_id: str, resource_group: str, vault: str,
                 arm_endpoint: str, credential: Any | None = None,
                 per_retry_policies: Sequence[HTTPPolicy[Any, Any]] = (),
                 observe_write: Callable[[str], AbstractContextManager[None]] = _unobserved,
                 ) -> None:
        """`per_retry_policies` see every HTTP request (retries included); `observe_write`
        wraps each write, named by its operation (`reprotect`, `restart`)."""
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
            per_retry_policies=list(per_retry_policies),
        )
        self._observe_write = observe_write
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

    def probe_vault(self) -> tuple[int, int]:
        """Read the first page of the vault's fabrics and of its recovery plans (what every
        preflight reads first): how many each page holds. Raises what a preflight would."""
        fabrics: list[Any] = _call("list the vault's fabrics", lambda: list(next(
            self._client.replication_fabrics.list(self._rg, self._vault).by_page(), [])))
        plans: list[Any] = _call("list the vault's recovery plans", lambda: list(next(
            self._client.replication_recovery_plans.list(self._rg, self._vault).by_page(), [])))
        return len(fabrics), len(plans)

    def plan_context(self, plan: RecoveryPlan) -> PlanContext:
        """Items, fabric, policies, mappings and vCenters in five concurrent list calls; for a
        plan with modernized items, one more: the vault's items (appliance disk counts)."""
        items_f = self._pool.submit(self._raw_plan_items, plan)
        fabrics_f, policies_f, mappings_f = self._site_lists()
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
                                             == config_server.fabric_name.lower()),
                              forward=forward_targets(fabrics, policies, mappings, items))
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

    def _site_lists(self) -> tuple[Future[list[m.Fabric]], Future[list[m.Policy]],
                                   Future[list[m.ProtectionContainerMapping]]]:
        """The vault's fabrics, policies and container mappings, listed concurrently."""
        return (self._pool.submit(self._list, "list the vault's fabrics",
                                  self._client.replication_fabrics.list),
                self._pool.submit(self._list, "list the vault's replication policies",
                                  self._client.replication_policies.list),
                self._pool.submit(self._list, "list the vault's container mappings",
                                  self._client.replication_protection_container_mappings.list))

    def get_item(self, item_id: str) -> ProtectedItem:
        return _item(self._get_raw_item(item_id))

    def get_failback_item(self, item_id: str) -> FailbackItem:
        """One item's failback journey signals (`allowedOperations`, recovery point, …)."""
        return failback_item(self._get_raw_item(item_id))

    def failback_context(self, plan: RecoveryPlan) -> FailbackContext:
        """The plan's own state, its items' journey signals and the forward targets for a
        reprotect to Azure, in five concurrent reads whatever the number of VMs."""
        plan_f = self._pool.submit(_call, f"read recovery plan {plan.friendly_name}",
                                   lambda: self._client.replication_recovery_plans.get(
                                       self._rg, self._vault, plan.name))
        items_f = self._pool.submit(self._raw_plan_items, plan)
        fabrics_f, policies_f, mappings_f = self._site_lists()
        items = tuple(failback_item(i) for i in items_f.result())
        return FailbackContext(
            plan=plan_state(plan_f.result()), items=items,
            forward=forward_targets(fabrics_f.result(), policies_f.result(),
                                    mappings_f.result(), tuple(i.item for i in items)))

    def vault_items(self) -> tuple[FailbackItem, ...]:
        """Every protected item of the vault with its journey signals, in one paged list
        (where each plan stands, whatever the number of plans and VMs)."""
        return tuple(failback_item(i) for i in self._list(
            "list the vault's protected items", self._client.replication_protected_items.list))

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

    def denied_writes(self) -> tuple[str, ...]:
        """The WRITE_ACTIONS Azure RBAC does not grant the bot's identity on the vault, from
        its permissions there (actions minus notActions, wildcards as RBAC reads them)."""
        def read() -> list[dict[str, Any]]:
            request = HttpRequest(
                "GET", f"{self._vault_path}/providers/Microsoft.Authorization/permissions",
                params={"api-version": PERMISSIONS_API})
            response = self._client.send_request(request)
            if response.status_code >= 400:
                map_error(response.status_code, response, {401: ClientAuthenticationError})
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            return list(response.json().get("value") or [])
        grants = _call("list the bot's permissions on the vault", read)
        return tuple(a for a in WRITE_ACTIONS if not any(_grants(g, a) for g in grants))

    def signing_key_state(self) -> str:
        """`readable`, `forbidden` (403: the identity lacks extendedInformation/read) or
        `absent` (the vault has none): whether writes will be signed."""
        if self._integrity_key():
            return "readable"
        return "forbidden" if self._key_forbidden else "absent"

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
        # Reprotect to Azure is the same write (`reProtect`), counted as a reprotect.
        writes: dict[str, Callable[[str, ProviderInput], Accepted]] = {
            "reprotect": self.reprotect, "reprotect-to-azure": self.reprotect,
            "failback": self._failback, "failback-vm": self._failback}
        if operation in writes and inputs is not None:
            return writes[operation](target, inputs)
        bodiless = {"commit": (self.plan_commit, self.item_commit),
                    "cancel": (self.plan_cancel, self.item_cancel)}
        kind = operation.removesuffix("-vm")
        if kind not in bodiless or inputs is not None:
            raise ValueError(f"no write for operation {operation!r} with {inputs!r}")
        on_plan, on_item = bodiless[kind]
        plan = plan_name(target)
        return on_item(target) if plan is None else on_plan(plan)

    def _failback(self, target: str, inputs: ProviderInput) -> Accepted:
        """A failback on the recovery plan (`target` its ARM id) or on one item; classic
        item-level failback has no settled direction and is never sent."""
        if not isinstance(inputs, FailbackInput):
            raise ValueError(f"no failback with {inputs!r}")
        point = inputs.point
        on_plan = "/replicationrecoveryplans/" in target.lower()
        plan_name = target.rstrip("/").rsplit("/", 1)[-1]
        if isinstance(point, ClassicPoint):
            if not on_plan:
                raise ValueError("classic failback is sent on the recovery plan only")
            return self.plan_classic_failback(plan_name, point)
        if on_plan:
            return self.plan_modernized_failback(plan_name, point)
        return self.item_modernized_failback(target, point)

    def reprotect(self, item_id: str, inputs: ProviderInput) -> Accepted:
        """POST reProtect on the item with the provider's values, in either direction (to
        AVS: `ReprotectInput`, `RcmReprotectInput`; back to Azure: `AzureV2ReprotectInput`,
        `RcmFailbackReprotectInput`)."""
        fabric, container, name = _item_path(item_id)
        return self._write("reprotect", f"start reprotect of {name}", partial(
            self._client.replication_protected_items.begin_reprotect, self._rg, self._vault,
            fabric, container, name, reprotect_body(inputs)))

    def restart_job(self, job_id: str) -> Accepted:
        """POST restart of a failed job once (no SDK retry, signed); the answer names the new
        job, which Site Recovery runs instead of the old one."""
        name = job_name(job_id)
        return self._write("restart", f"restart job {name}", partial(
            self._client.replication_jobs.begin_restart, self._rg, self._vault, name))

    def _write(self, operation: str, action: str, begin: Callable[..., object]) -> Accepted:
        """Sign and send a write once, the token and key fetched under the same deadline
        as the request (`gateways.write_deadline`); counted by operation and outcome."""
        def write(gate: Hook) -> Accepted:
            headers = self._signed(action)
            return _accepted(action, lambda hook: begin(
                polling=False, raw_response_hook=hook, raw_request_hook=gate, retry_total=0,
                headers=headers, **_write_timeouts()))

        with self._observe_write(operation):
            return bounded_write(action, write, answer_s=sum(WRITE_TIMEOUTS))

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


def _grants(permission: dict[str, Any], action: str) -> bool:
    """One RBAC permission entry allows `action` (case-insensitive, `*` wildcards)."""
    def matches(patterns: Any) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns or ())
    return matches(permission.get("actions")) and not matches(permission.get("notActions"))
