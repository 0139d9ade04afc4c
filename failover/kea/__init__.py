"""Export a failover relationship as a Kea High Availability pair (issue 12).

- :mod:`.models`: the per-server Kea settings (interfaces, control agent, paths, target);
- :mod:`.export`: the four JSON configurations built as data structures, and the report of
  what does not translate;
- :mod:`.checks`: dhcpadmin's own check of the HA part, and ``kea-dhcp4 -t``;
- :mod:`.services`: saving the settings (atomic, validated, recorded), the export of a
  relationship named by a peer.
"""
