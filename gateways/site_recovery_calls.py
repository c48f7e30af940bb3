"""How the Site Recovery gateway sends one call: its errors explained, a write sent once.

`_call` turns an SDK failure into a `SiteRecoveryError` that says what happened, why and what
to do; `_accepted` reads a write's answer (the job it started and its Retry-After) from the
headers, with `_write_timeouts` shorter than the runner's lease.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.identity import CredentialUnavailableError

from gateways.errors import SiteRecoveryAuthError, SiteRecoveryError
from gateways.site_recovery_convert import _float
from gateways.site_recovery_models import Accepted

T = TypeVar("T")

JOB_FROM_LOCATION = re.compile(r"/operationresults/(?P<job>[^/?]+)", re.IGNORECASE)
JOB_FROM_ID = re.compile(r"/replicationJobs/(?P<job>[^/?]+)", re.IGNORECASE)
# (connect, read) seconds for writes: well inside the runner's 60 s run lease, so an answer
# that does not come is given up on before another replica may look at the run.
WRITE_TIMEOUTS = (10.0, 30.0)


def job_name(job_id: str) -> str:
    """The job's GUID from an ARM id or a bare name."""
    match = JOB_FROM_ID.search(job_id)
    return match.group("job") if match else job_id


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
