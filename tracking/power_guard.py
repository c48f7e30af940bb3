"""Power guard: an AVS VM must stay off from reprotect until failback.

Reprotect overwrites the AVS VM's disks with the Azure VM's data; started in between, the VM
diverges and its changes are lost (and replication may break). Each tick reads the power
state of every watched AVS VM in one vCenter call and warns in the request's thread once per
power-on: the last state seen is kept in the database, so a restart neither repeats a
warning nor misses one, and the compare-and-set lets one replica warn, not all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from core.events import PoweredOn
from core.plan import ResolvedPlan
from core.ports import VCenter
from gateways.errors import VCenterError
from store.db import Conflict, Engine, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import PowerWatch, Request, RequestStatus, utcnow
from store.power import mark_warned, move_power_state, power_watches, watched_requests

log = logging.getLogger(__name__)

# Failback usually follows within a day of reprotect; watch that long after it finished.
WATCH_AFTER = timedelta(hours=24)
POWERED_ON = "poweredOn"
UNKNOWN_STATES = ("notFound", "unknown")


class PowerGuard:
    def __init__(self, engine: Engine, vcenter: VCenter,
                 watch_after: timedelta = WATCH_AFTER) -> None:
        self._engine = engine
        self._vcenter = vcenter
        self._watch_after = watch_after

    def tick(self) -> None:
        """One vCenter read for all watched VMs, then one transaction per request."""
        watched = self._watched()
        refs = sorted({ref for _, vms in watched for ref, _ in vms})
        if not refs:
            return
        try:
            states = self._vcenter.power_states(refs)
        except VCenterError as exc:
            log.warning("power guard could not read vCenter: %s", exc.what)
            return
        for request, vms in watched:
            try:
                self._record(request, vms, states)
            except Conflict:  # another replica saw the VM first: it warns
                log.info("power state of request %s recorded by another replica", request.id)

    def _watched(self) -> list[tuple[Request, list[tuple[str, str]]]]:
        """Executing requests and those finished within `watch_after`, with their AVS VMs."""
        since = utcnow() - self._watch_after
        with read_scope(self._engine) as session:
            requests = watched_requests(session, since)
        watched = []
        for request in requests:
            vms = [(i.avs_vm, i.vm_name) for i in ResolvedPlan.from_json(request.plan).items
                   if i.avs_vm]
            if vms:
                watched.append((request, vms))
        return watched

    def _record(self, request: Request, vms: Sequence[tuple[str, str]],
                states: dict[str, str]) -> None:
        assert request.id is not None
        with session_scope(self._engine) as session:
            seen = power_watches(session, request.id)
            turned_on = []
            for ref, name in vms:
                state = states.get(ref, "notFound")
                if state in UNKNOWN_STATES:
                    continue
                row = seen.get(ref)
                if row is None:
                    session.add(PowerWatch(request_id=request.id, vm_ref=ref, vm_name=name,
                                           state=state))
                    session.flush()
                elif row.state == state or not move_power_state(session, row, state):
                    continue
                if state == POWERED_ON:
                    turned_on.append(name)
            if turned_on:
                finished = request.status != RequestStatus.EXECUTING
                mark_warned(session, request.id, turned_on)
                audit(session, "bot", "power_on_warning", request.id, vms=turned_on)
                enqueue(session, request, PoweredOn(tuple(turned_on), finished))

