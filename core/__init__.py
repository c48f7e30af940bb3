"""Neutral domain values shared by `commands` and `approvals`: the policy, the ports to the
outside world, who clicked and what was decided, and the ids of Slack actions. It imports
neither of them, so the two packages depend on it and never on each other in a cycle."""
