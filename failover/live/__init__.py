"""Live failover state: read each server's failover peers over OMAPI, keep the latest reading
and the history of changes, raise alerts (issue 10)."""
