"""Wiring: builds every service from the settings, once, in the CLI (never at import)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from approvals.retry import Retries
from approvals.workflow import Approvals, expire_due
from bot import metrics
from bot.admission import Admission, AfterAckPool
from bot.health import Readiness, slack_probe, vault_probe, vcenter_probe
from bot.home_publisher import basic_readiness
from bot.outbox import OutboxSender
from bot.scheduler import Ticker
from bot.settings import Settings
from bot.slack_app import build_app
from bot.slack_ports import SlackDirectory, SlackNotifier, SlackWorkspace
from bot.socket_mode import SocketModeRunner
from bot.views.i18n import set_workspace_language
from bot.views.run_words import portal_for
from core.policy import Policy
from core.ports import SlackUnavailable
from gateways.site_recovery import AzureSiteRecovery
from gateways.vcenter import VCenterConfig, VCenterGateway
from gateways.vcenter_absent import NotConfiguredVCenter
from intake.manual_items import ManualChecks
from intake.planning import Sources
from intake.recheck import Recheck
from intake.slash import Intake
from store.db import Engine, make_engine, migrate
from tracking import Runner
from tracking.power_guard import PowerGuard

log = logging.getLogger(__name__)


@dataclass
class BotServices:
    settings: Settings
    engine: Engine
    ticker: Ticker
    app: App
    site_recovery: AzureSiteRecovery
    after_ack: AfterAckPool
    readiness: Readiness
    vcenter: VCenterGateway | None = None
    socket_mode: SocketModeRunner | None = None

    def start_background(self) -> None:
        self.ticker.start()
        if self.socket_mode is not None:
            self.socket_mode.start()

    def close(self) -> None:
        """Stop taking Socket Mode events, finish work started by clicks and commands, stop
        ticking (waiting for running ticks), log out of vCenter, close the pools."""
        if self.socket_mode is not None:
            self.socket_mode.close()
        self.after_ack.shutdown(wait=True)
        self.ticker.shutdown()
        self.readiness.close()
        self.site_recovery.close()
        if self.vcenter is not None:
            self.vcenter.close()
        self.engine.dispose()


def _expire(engine: Engine) -> None:
    expired = expire_due(engine)
    if expired:
        log.info("expired %d pending request(s)", expired)


def build(settings: Settings) -> BotServices:
    metrics.count_transitions()
    set_workspace_language(settings.reprotect_language)
    engine = make_engine(settings.database_url)
    migrate(engine)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    client = WebClient(token=settings.slack_bot_token.get_secret_value(),
                       base_url=settings.slack_api_base, timeout=10,
                       retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)])
    workspace = SlackWorkspace(client)
    with contextlib.suppress(SlackUnavailable):  # else asked at the first click, never guessed
        log.info("Slack workspace of the bot: %s", workspace())
    policy = Policy(
        workspace_team=workspace,
        channels=frozenset(settings.reprotect_channels),
        required_approvals=settings.reprotect_required_approvals,
        approval_ttl=timedelta(minutes=settings.reprotect_approval_ttl_minutes),
        poll_interval=timedelta(seconds=settings.reprotect_poll_seconds),
        protect_timeout=timedelta(minutes=settings.reprotect_protect_timeout_minutes),
        approval_confirms_manual=settings.reprotect_manual_confirmation == "approve",
    )
    site_recovery = AzureSiteRecovery(
        subscription_id=settings.azure_subscription_id,
        resource_group=settings.asr_resource_group, vault=settings.asr_vault_name,
        arm_endpoint=settings.azure_arm_endpoint,
        per_retry_policies=[metrics.CountArmCalls()], observe_write=metrics.submission)
    vcenter = vcenter_gateway(settings)
    sources = Sources(site_recovery, vcenter or NotConfiguredVCenter(),
                      vcenter_host=urlsplit(settings.vcenter_url or "").hostname or "",
                      vcenter_insecure=settings.vcenter_insecure)
    ticker = Ticker()
    notifier = SlackNotifier(client)
    directory = SlackDirectory(client, settings.reprotect_approvers)
    requesters = (SlackDirectory(client, settings.reprotect_requesters)
                  if settings.reprotect_requesters else None)
    after_ack = AfterAckPool()
    intake = Intake(engine, sources, notifier, policy, requesters, Admission(after_ack))
    recheck = Recheck(engine, sources, approval_confirms_manual=policy.approval_confirms_manual)
    approvals = Approvals(engine, directory, notifier, ticker, policy, recheck)
    manual = ManualChecks(engine, directory, notifier, policy)
    runner = Runner(engine, site_recovery, policy, owner)
    sender = OutboxSender(engine, client, owner,
                          approval_confirms_manual=policy.approval_confirms_manual,
                          portal=portal_for(settings.azure_arm_endpoint))
    ticker.every("track", min(settings.reprotect_poll_seconds, 5.0), runner.tick)
    ticker.every("outbox", 0.5, sender.tick)
    ticker.every("expire", 15.0, lambda: _expire(engine))
    ticker.every("resume", 30.0, intake.resume_interrupted)
    if vcenter is not None:
        ticker.every("power", settings.reprotect_poll_seconds, PowerGuard(engine, vcenter).tick)
    readiness = Readiness()
    own = basic_readiness(engine, ticker)  # the database and the last ticks
    app = build_app(client=client,
                    signing_secret=settings.slack_signing_secret.get_secret_value()
                    if settings.slack_signing_secret is not None else None,
                    intake=intake, approvals=approvals, manual=manual,
                    retries=Retries(engine, runner, approvals, notifier, ticker),
                    notifier=notifier, waker=ticker, background=after_ack, engine=engine,
                    readiness=lambda: readiness.states() + own())
    socket_mode = (SocketModeRunner(app, settings.slack_app_token.get_secret_value())
                   if settings.slack_app_token is not None else None)
    readiness.add("slack", slack_probe(client, socket_mode.connected if socket_mode else None))
    readiness.add("vault", vault_probe(site_recovery))
    if vcenter is not None:
        readiness.add("vcenter", vcenter_probe(vcenter), required=False)
    ticker.every("readiness", settings.reprotect_readiness_seconds, readiness.probe)
    return BotServices(settings=settings, engine=engine, ticker=ticker, app=app,
                       site_recovery=site_recovery, after_ack=after_ack, readiness=readiness,
                       vcenter=vcenter, socket_mode=socket_mode)


def vcenter_gateway(settings: Settings) -> VCenterGateway | None:
    """The vCenter gateway when VCENTER_URL is set; it logs in at the first preflight."""
    if not settings.vcenter_url:
        return None
    assert settings.vcenter_user and settings.vcenter_password  # the settings ensure it
    return VCenterGateway(VCenterConfig(
        url=settings.vcenter_url, user=settings.vcenter_user,
        password=settings.vcenter_password.get_secret_value(),
        ca_bundle=settings.vcenter_ca_bundle, insecure=settings.vcenter_insecure))
