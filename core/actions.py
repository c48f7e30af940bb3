"""Ids Slack sends back when someone clicks: defined once, used by the views that draw the
controls and by the listeners that answer them."""

from __future__ import annotations

APPROVE = "approve"
REJECT = "reject"
CANCEL = "cancel"
RETRY = "retry"
CONFIRM_MANUAL = "confirm_manual"
SHOW_PASSED = "show_passed"      # lists a request's passed checks privately
MANUAL_BLOCK = "manual"           # block id `manual:<request id>` of the manual checkboxes
REJECT_CALLBACK = "reject_reason"  # callback id of the reason dialog
REASON_BLOCK = "reason"           # block id of the reason input in that dialog
NEXT_COMMIT = "next_commit"      # a failback summary's `Commit` (value: the failback request)
NEXT_CANCEL = "next_cancel"      # its `Cancel failback` (modernized plans)
