"""Deploy to the running servers over SSH: the connection (``ssh``), live drift and pool
balance (``services``, ``leases``); the rollout itself lives in ``rollout``."""
