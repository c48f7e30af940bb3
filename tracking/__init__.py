"""Execution and tracking: `runner.Runner` claims, reads and saves; `machine` decides.

The runner (called by the scheduler's `track` job, `bot.scheduler.Ticker`) keeps everything
that touches the database or Site Recovery (leases with owner fencing, bulk reads within a
budget, the writes, saving with their events, closing requests); the machine is one pure
function per run status.
"""

from tracking.runner import Runner

__all__ = ["Runner"]
