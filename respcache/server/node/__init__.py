"""The collaborators of a ZooKeeper-led node, wired by :class:`~respcache.server.cluster.ClusterNode`.

One concern a module: :mod:`.admission` (what a client may do before its command
runs, and the read fence after), :mod:`.handoff` (FAILOVER and the SIGTERM
handoff: paused writes, held clients), :mod:`.forward` (the proxy that relays a
client's commands to the new leader), :mod:`.isr` (ZooKeeper's ISR kept a subset
of the leader's), :mod:`.sentinel` (the Sentinel view and ``+switch-master``).
Each receives the few collaborators it uses, typed in :mod:`.ports`.
"""
