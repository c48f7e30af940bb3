"""The App Home tab: published when a person opens it (`app_home_opened`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.home_publisher import publish_home
from bot.listeners import Services
from bot.views.i18n import using

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        """Slack sends the event for the Messages tab too: only the Home tab is drawn."""
        if event.get("tab") != "home" or not event.get("user"):
            return
        services.background.submit(_publish, services, client, str(event["user"]))


def _publish(services: Services, client: WebClient, user_id: str) -> None:
    try:
        with using(services.notifier.languages.of(user_id)):  # the tab is the person's own
            publish_home(client, services.engine, services.readiness, user_id)
    except Exception:  # nobody to tell but the log: the tab keeps its previous version
        log.exception("App Home of %s not published", user_id)
