"""Replication: one leader, followers applying its stream, synchronous acknowledgements.

Sans-IO pieces, tested without sockets: :mod:`.framing` (link frames and stream
sizes), :mod:`.backlog` (ring buffer, replication ids, PSYNC decisions),
:mod:`.isr` (acknowledgements, ISR and committed offset), :mod:`.snapshot` (the
full-sync format), :mod:`.role` (the role state machine). The asyncio pieces:
:mod:`.leader` (stream, full syncs in a forked child, ISR timeouts),
:mod:`.follower` (handshake and link), and :mod:`.node`, the
:class:`Replication` object the server creates and the coordination layer
drives, with its collaborators :mod:`.command_gate`, :mod:`.views`,
:mod:`.commands` and :mod:`.follower_side`. See docs/replication.md.
"""

from respcache.replication.backlog import Backlog, History, PsyncDecision, psync_decision
from respcache.replication.isr import InSyncSet
from respcache.replication.leader import NOT_COMMITTED, IsrShrink
from respcache.replication.node import IsrChange, Replication
from respcache.replication.views import ReplicationStatus

__all__ = [
    "NOT_COMMITTED",
    "Backlog",
    "History",
    "InSyncSet",
    "IsrChange",
    "IsrShrink",
    "PsyncDecision",
    "Replication",
    "ReplicationStatus",
    "psync_decision",
]
