"""The words of `--help`: what each command does and every setting `serve` reads.

`SETTINGS` is the README's Settings table in short (a unit test keeps both naming the same
variables, and every field of `bot.settings.Settings`).
"""

from __future__ import annotations

DESCRIPTION = ("A Slack bot that preflights, gets approval for, submits and follows Azure Site "
               "Recovery reprotect (failback from Azure to an Azure VMware Solution private "
               "cloud). Settings come from the environment: see `reprotect-bot serve --help`.")

SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("SLACK_BOT_TOKEN", "bot token (xoxb-…)", "required"),
    ("SLACK_SIGNING_SECRET", "verifies every request from Slack", "required in HTTP mode"),
    ("SLACK_APP_TOKEN", "app-level token (xapp-…); selects Socket Mode", "unset"),
    ("SLACK_API_URL", "Slack Web API base URL", "https://slack.com/api/"),
    ("PORT", "HTTP port (/slack/events, /healthz, /readyz, /metrics)", "3000"),
    ("DATABASE_URL", "SQLAlchemy URL: SQLite, or PostgreSQL as postgresql+psycopg://… "
                     "(pip install 'reprotect-bot[postgres]')", "sqlite:///reprotect.db "
                                                                "(working directory)"),
    ("AZURE_SUBSCRIPTION_ID", "subscription of the Recovery Services vault", "required"),
    ("ASR_RESOURCE_GROUP", "resource group of the vault", "required"),
    ("ASR_VAULT_NAME", "Recovery Services vault name", "required"),
    ("AZURE_ARM_ENDPOINT", "Azure Resource Manager base URL", "https://management.azure.com"),
    ("VCENTER_URL", "vCenter SDK URL, e.g. https://vcenter.example/sdk",
     "unset: vCenter checks are a warning"),
    ("VCENTER_USER", "vCenter account", "required with VCENTER_URL"),
    ("VCENTER_PASSWORD", "its password", "required with VCENTER_URL"),
    ("VCENTER_CA_BUNDLE", "CA file for vCenter's certificate", "system trust"),
    ("VCENTER_INSECURE", "1 skips vCenter certificate checks (warned)", "0"),
    ("REPROTECT_APPROVERS", "comma-separated user (U…, W…) and user group (S…) IDs allowed "
                            "to approve", "required"),
    ("REPROTECT_CHANNELS", "comma-separated channel IDs where /reprotect is accepted",
     "empty: any channel"),
    ("REPROTECT_REQUESTERS", "comma-separated user and user group IDs allowed to request",
     "empty: anyone"),
    ("REPROTECT_REQUIRED_APPROVALS", "distinct approvers needed, never the requester", "1"),
    ("REPROTECT_MANUAL_CONFIRMATION", "approve: Approve confirms unticked manual items; "
                                      "tick: every item must be ticked first", "approve"),
    ("REPROTECT_LANGUAGE", "en or fr: channel messages, and private replies to people "
                           "whose Slack locale has no words here", "en"),
    ("REPROTECT_APPROVAL_TTL_MINUTES", "a pending request expires after this", "60"),
    ("REPROTECT_POLL_SECONDS", "Site Recovery polling interval", "30"),
    ("REPROTECT_PROTECT_TIMEOUT_MINUTES", "give up waiting for Protected after this", "720"),
    ("REPROTECT_READINESS_SECONDS", "interval of the readiness probes /readyz reports", "15"),
    ("HTTP_READ_TIMEOUT_SECONDS", "a request must arrive whole within this of its connection "
                                  "opening", "10"),
    ("HTTP_MAX_CONNECTIONS", "open connections at most (the longest-waiting one is closed)",
     "500"),
    ("LOG_FORMAT", "text, or json: one JSON object per line", "text"),
    ("LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL", "INFO"),
)

AZURE_CREDENTIALS = ("Azure credentials: DefaultAzureCredential's standard variables "
                     "(AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload identity, "
                     "managed identity IDENTITY_ENDPOINT/IDENTITY_HEADER, …); TLS trust follows "
                     "REQUESTS_CA_BUNDLE.")


def settings_epilog() -> str:
    """The settings table as `serve --help` and `check --help` print it."""
    width = max(len(name) for name, _, _ in SETTINGS)
    rows = [f"  {name:<{width}}  {meaning} [default: {default}]"
            for name, meaning, default in SETTINGS]
    return ("settings (environment variables):\n" + "\n".join(rows) + "\n\n"
            + AZURE_CREDENTIALS + "\n\nA missing or malformed setting stops start-up with exit "
            "status 2 and one line per problem naming the variable.")
