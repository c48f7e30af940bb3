"""The modernized architecture's (replication appliance, `InMageRcm`) choices and checks.

Pure: the provider reads Site Recovery and vCenter, then calls `choices.choose`, builds
`facts.ModernizedFacts` and runs `checks.run_checks` (Microsoft's modernized architecture).
"""
