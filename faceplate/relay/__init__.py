"""The turn engine's fan-out across instances, on the cluster plumbing (LISTEN/NOTIFY)."""
