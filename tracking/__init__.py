"""Execution and tracking: `ticker.Tracker` claims, reads and saves; `machine` decides.

The ticker keeps everything that touches the database or Site Recovery (leases with owner
fencing, bulk reads within a budget, the writes, saving with their events, closing requests);
the machine is one pure function per run status.
"""

from tracking.runner import Tracker

__all__ = ["Tracker"]
