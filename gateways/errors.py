"""Gateway failures as values a person can act on.

Expected refusals (a plan that does not exist) are returned as results elsewhere; these
exceptions are outages or refusals of the infrastructure, each carrying what happened, why,
and what to do next, so the thread can tell the operator without a traceback.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base: `what` happened, `why`, and the `fix` an operator can act on."""

    def __init__(self, what: str, why: str = "", fix: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.why = why
        self.fix = fix

    def explain(self) -> str:
        parts = [self.what]
        if self.why:
            parts.append(f"Why: {self.why}")
        if self.fix:
            parts.append(f"Next: {self.fix}")
        return "\n".join(parts)


class SiteRecoveryError(GatewayError):
    """Site Recovery answered with an error or could not be reached."""

    def __init__(self, what: str, why: str = "", fix: str = "", *, status: int | None = None,
                 code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(what, why, fix)
        self.status = status
        self.code = code
        self.retry_after = retry_after  # seconds Site Recovery asked to wait (429 Retry-After)

    @property
    def transient(self) -> bool:
        """Worth retrying later: throttling, server errors and dropped connections."""
        return self.status is None or self.status == 429 or self.status >= 500


class SiteRecoveryAuthError(SiteRecoveryError):
    """The bot's Azure identity got no token, or its token was refused."""


class VCenterError(GatewayError):
    """vCenter refused or failed a request; `explain()` says what to do.

    Defined here rather than in `gateways.vcenter` so that preflight can tell an outage from a
    missing privilege without importing pyVmomi.
    """


class VCenterAuthError(VCenterError):
    """vCenter rejected the login (wrong user or password, locked account)."""


class VCenterUnreachable(VCenterError):
    """No answer from vCenter: refused, timed out, DNS, or a certificate that fails checks."""


class VCenterPermissionError(VCenterError):
    """The account logged in but may not read what preflight needs."""
