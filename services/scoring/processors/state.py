"""An entity's versions: what scoring remembers about one SPEC §3 entity key.

Each accepted event about the key becomes a :class:`Version` (for ``staff:{id}`` training
completions are kept beside the staff versions as :class:`Completion`). Only the fields the
measures read are kept, so the state stays small on the changelog. Versions are sorted by
``(time_us, seq)``: the last one is the winner (SPEC §3 "latest time, then accepted later").

``(source, id)`` identifies an event (SPEC §4): a resend changes nothing. When the two copies
reach scoring out of acceptance order, the one with the lower ``seq`` (accepted first) is kept,
so the state never depends on arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

import orjson

from thidua.contracts.events import EventType

_EVENT_TYPES = {event_type.value: event_type for event_type in EventType}
_TYPE_VALUES = {event_type: event_type.value for event_type in EventType}

# The data fields each type's measures read, in a fixed order (the state stores them as lists).
FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.STAFF_UPSERTED: ("unit_id", "category", "digital_id", "active"),
    EventType.PROCEDURE_UPSERTED: ("unit_id", "full_online_eligible", "full_online", "mobile"),
    # (+ the optional 766 fields: stored only when one is set, see measures._dossier_fields)
    EventType.DOSSIER_RECEIVED: ("unit_id", "channel", "on_time", "digitised", "paid_online"),
    EventType.DOSSIER_RATED: ("unit_id", "satisfied"),
    EventType.DOCUMENT_SENT: ("from_unit", "electronic", "digitally_signed", "confidential"),
    EventType.WORKFILE_CLOSED: ("unit_id", "online", "digitally_signed", "secret"),
    EventType.REPORT_SUBMITTED: ("unit_id", "via_shared_system"),
    EventType.INSPECTION_COMPLETED: ("unit_id", "digital"),
    EventType.INDICATOR_OBSERVED: ("unit_id", "indicator", "numerator", "denominator"),
}


class Version(NamedTuple):
    """One accepted event about an entity: its order, its identity, the fields measures read.
    (Tuples: made for every event, and a frozen dataclass costs much more to make.)"""

    time_us: int
    seq: int
    source: str
    id: str
    fields: tuple[Any, ...]

    @property
    def order(self) -> tuple[int, int]:
        return (self.time_us, self.seq)


class Completion(NamedTuple):
    """A staff member's training completion of ``program``."""

    program: str
    time_us: int
    seq: int
    source: str
    id: str

    @property
    def order(self) -> tuple[int, int]:
        return (self.time_us, self.seq)


_Item = TypeVar("_Item", Version, Completion)


@dataclass(frozen=True, slots=True)
class EntityState:
    """All versions of one entity key; ``type`` is None while only trainings are known."""

    type: EventType | None = None
    versions: tuple[Version, ...] = ()
    completions: tuple[Completion, ...] = ()
    # ``(source, id)`` of every version and completion: built when first needed, never stored.
    _ids: frozenset[tuple[str, str]] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    # What ``to_bytes`` returns, once known (encoded, decoded, or appended to: an indicator
    # observed daily has hundreds of versions, and encoding them all at every observation cost
    # more than the rest of its scoring).
    _encoded: bytes | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def winner(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    def with_version(self, event_type: EventType, version: Version) -> EntityState:
        if self.type is not None and self.type is not event_type:
            raise ValueError(f"entity holds {self.type.value} versions, got {event_type.value}")
        ids = self.ids()
        identity = (version.source, version.id)
        if identity not in ids and (not self.versions or self.versions[-1].order <= version.order):
            # The common case, a new latest version: no scan of the versions.
            state = EntityState(event_type, (*self.versions, version), self.completions)
            object.__setattr__(state, "_ids", ids | {identity})
            if self._encoded is not None and self.versions:  # (same type: checked above)
                object.__setattr__(state, "_encoded", _appended(self._encoded, version))
            # (else, or when the bytes were not ours to extend, to_bytes encodes it whole)
            return state
        versions = _merge(self.versions, version)
        if versions is None:
            return self
        return replace(self, type=event_type, versions=versions)

    def with_completion(self, completion: Completion) -> EntityState:
        if self.type not in (None, EventType.STAFF_UPSERTED):
            raise ValueError(f"a training completion cannot join a {self.type} entity")
        completions = _merge(self.completions, completion)
        if completions is None:
            return self
        return replace(self, completions=completions)

    def ids(self) -> frozenset[tuple[str, str]]:
        """``(source, id)`` of every event the state holds."""
        ids = self._ids
        if ids is None:
            ids = frozenset((v.source, v.id) for v in self.versions) | frozenset(
                (c.source, c.id) for c in self.completions
            )
            object.__setattr__(self, "_ids", ids)
        return ids

    def to_bytes(self) -> bytes:
        """``{"t": type, "v": [[time_us, seq, source, id, [fields]]...], "c": [[program,
        time_us, seq, source, id]...]}`` (orjson writes each named tuple as the plain tuple
        ``default`` makes of it: an array of its fields in order)."""
        encoded = self._encoded
        if encoded is None:
            encoded = kept(
                orjson.dumps(
                    {
                        "t": _TYPE_VALUES[self.type] if self.type else None,
                        "v": self.versions,
                        "c": self.completions,
                    },
                    default=tuple,
                )
            )
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    @classmethod
    def from_bytes(cls, raw: bytes) -> EntityState:
        doc = orjson.loads(raw)
        state = cls(
            type=_EVENT_TYPES[doc["t"]] if doc["t"] else None,
            versions=tuple(Version(t, s, src, i, tuple(f)) for t, s, src, i, f in doc["v"]),
            completions=tuple(Completion(p, t, s, src, i) for p, t, s, src, i in doc["c"]),
        )
        object.__setattr__(state, "_encoded", raw)
        return state


def kept(encoded: bytes) -> bytes:
    """A copy of ``orjson.dumps``'s result for keeping (in a table's store).

    orjson writes into a buffer of a page or more and shrinks it when done; a result that is
    kept holds its whole page: 4 KiB of memory per stored value and a page fault at each
    encoding, which multiplied the worker's memory and slowed it down. The copy is the exact
    size; the buffer is freed and its page used again by the next encoding."""
    return bytes(memoryview(encoded))


# Where the versions' array of an encoded state ends. Unique: a string's quote is escaped
# inside JSON strings, and in arrays no quote is followed by a colon; only the top-level keys.
_VERSIONS_END = b'],"c":'


def _appended(encoded: bytes, version: Version) -> bytes | None:
    """``encoded`` (a state with one version or more) with ``version`` added at the end of its
    versions: the bytes ``to_bytes`` makes of the new state, without encoding the others.
    None for bytes not in this shape (restored from another writer): encode the state whole."""
    end = encoded.rfind(_VERSIONS_END)
    if end < 0:
        return None
    return b"".join((encoded[:end], b",", orjson.dumps(tuple(version)), encoded[end:]))


def _merge(items: tuple[_Item, ...], new: _Item) -> tuple[_Item, ...] | None:
    """``items`` with ``new`` in (time, seq) order, or None when nothing changes (a resend)."""
    merged: list[_Item] = list(items)
    for index, item in enumerate(items):
        if item.source == new.source and item.id == new.id:
            if item.seq <= new.seq:
                return None  # first acceptance wins
            del merged[index]
            break
    in_order = not merged or merged[-1].order <= new.order
    merged.append(new)
    if not in_order:
        merged.sort(key=lambda x: x.order)
    return tuple(merged)
