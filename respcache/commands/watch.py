"""WATCH bookkeeping: which clients watch which keys, and invalidating their transactions.

Redis keeps this in ``multi.c`` (``watchForKey``, ``touchWatchedKey``,
``touchAllWatchedKeysInDb``, ``isWatchedKeyExpired``). It is its own object, not
part of the engine's pipeline, because only three things touch it: the WATCH,
UNWATCH and EXEC handlers (``commands/transactions.py``), a key changing
(``Engine.key_modified`` asks :meth:`Watches.key_changed` when anything is
watched), and FLUSHDB/FLUSHALL/SWAPDB. Compiled with mypyc (``respcache._compiled``):
the engine reads :attr:`Watches.watched` on every write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from respcache.store.keyspace import Keyspace

if TYPE_CHECKING:
    from respcache.commands.client import Client


class Watches:
    """The WATCHed keys of every client (each client also lists its own: ``Client.watched``)."""

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self.watched: dict[tuple[int, bytes], set[Client]] = {}
        """Clients WATCHing each (db, key)."""
        self.expired: set[tuple[Client, int, bytes]] = set()
        """WATCHes of keys already expired when WATCHed (Redis 7.0's ``watchedKey.expired``):
        their deletion is no logical change and does not invalidate the transaction."""

    def watch(self, client: Client, key: bytes) -> None:
        db = client.db
        entry = (db.id, key)
        if entry not in client.watched:
            client.watched.add(entry)
            self.watched.setdefault(entry, set()).add(client)
            if self.logically_expired(db.id, key):
                self.expired.add((client, db.id, key))

    def unwatch_all(self, client: Client) -> None:
        expired = self.expired
        for entry in client.watched:
            watchers = self.watched.get(entry)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self.watched[entry]
            if expired:
                expired.discard((client, *entry))
        client.watched.clear()
        client.dirty_cas = False

    def logically_expired(self, db: int, key: bytes) -> bool:
        """Past its TTL but not deleted yet (Redis's keyIsExpired); deletes nothing."""
        database = self.keyspace.dbs[db]
        when = database.expires.get(key)
        return when is not None and key in database.data and when <= self.keyspace.now_ms

    def key_changed(self, db: int, key: bytes) -> None:
        """Invalidate the transactions WATCHing a key that changed (Redis's touchWatchedKey)."""
        watchers = self.watched.get((db, key))
        if not watchers:
            return
        expired = self.expired
        for watcher in watchers:
            if expired and (watcher, db, key) in expired and key not in self.keyspace.dbs[db].data:
                # Expired when WATCHed and now deleted: logically no change.
                expired.discard((watcher, db, key))
                continue
            watcher.dirty_cas = True

    def expired_since_watched(self, client: Client) -> bool:
        """EXEC's check: a key WATCHed while live has expired since (Redis 7.0)."""
        expired = self.expired
        for db, key in client.watched:
            if (client, db, key) not in expired and self.logically_expired(db, key):
                return True
        return False

    def touch_on_flush(self, db: int | None = None) -> None:
        """FLUSHDB (``db``) or FLUSHALL (None), called *before* the data goes.

        Exactly Redis 7.0's touchAllWatchedKeysInDb: only the WATCHes of keys that
        exist are invalidated, and a key already expired when WATCHed is deleted
        without a logical change. (:meth:`touch_all`, called after the data went,
        cannot tell and invalidates every WATCH of the database.)
        """
        dbs = self.keyspace.dbs
        expired = self.expired
        for (wdb, key), watchers in self.watched.items():
            if (db is None or wdb == db) and key in dbs[wdb].data:
                for watcher in watchers:
                    if expired and (watcher, wdb, key) in expired:
                        expired.discard((watcher, wdb, key))
                        continue
                    watcher.dirty_cas = True

    def touch_all(self, db: int | None = None) -> None:
        """FLUSHALL/FLUSHDB/SWAPDB: every watcher of that db (or all) is invalidated."""
        for (wdb, _key), watchers in self.watched.items():
            if db is None or wdb == db:
                for watcher in watchers:
                    watcher.dirty_cas = True
