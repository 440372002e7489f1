"""One pydantic pass over a canonical event's bytes: the envelope and its type's data together
(a union told apart by ``type``), in JSON mode as ingest validated them.

``CanonicalEvent.from_bytes`` then :func:`validated_data` validate the same event in two
passes with a JSON round trip between them; for the events that are valid (all of them, unless
something other than ingest writes the topics) this is one. An event this pass refuses is
decoded the two-pass way, which tells an undecodable envelope from invalid data.

The pass validates into plain dicts, not models: each model's fields (types, constraints,
strictness, unknown fields ignored) are restated as a ``TypedDict``, which pydantic fills
without building an instance only to serialize it back. An enum field holds its member, a
``str`` equal to the value the models' JSON form gives. A field that defaults to None is
``NotRequired`` (absent stays absent). A model with another default, an alias or a validator of
its own stays a model (a ``TypedDict`` cannot say it), and its data is serialized as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict

from thidua.contracts.events import DATA_MODELS, CanonicalEvent, EventType

# (typing_extensions': pydantic wants it before Python 3.12; called with names made here,
# which a type checker cannot follow)
_typed_dict: Any = TypedDict


class Envelope(NamedTuple):
    """What scoring reads of an event besides its data (a ``CanonicalEvent`` has it too)."""

    type: EventType
    time: datetime
    seq: int
    source: str
    id: str

    @classmethod
    def of(cls, event: CanonicalEvent) -> Envelope:
        return cls(event.type, event.time, event.seq, event.source, event.id)


class Refused(ValueError):
    """Not a canonical event: ``kind`` is "undecodable" (no valid envelope) or "invalid" (its
    data does not match its type); ``cause`` is what the models said."""

    def __init__(self, kind: str, cause: BaseException) -> None:
        super().__init__(f"{kind}: {type(cause).__name__}: {cause}")
        self.kind = kind
        self.cause = cause


def _restated(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``model``'s fields (but ``skip``) as ``TypedDict`` annotations; empty when one cannot be
    restated exactly."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        if info.alias is not None or info.validation_alias is not None:
            return {}
        optional = not info.is_required()
        if optional and (info.default is not None or info.default_factory is not None):
            return {}
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        # An optional field defaulting to None may be absent (readers use .get): the data of
        # an event without it stays without it, as ingest wrote it.
        fields[name] = NotRequired[annotation] if optional else annotation
    return fields


def _has_own_logic(model: type[BaseModel]) -> bool:
    d = model.__pydantic_decorators__
    return bool(
        d.model_validators
        or d.field_validators
        or d.validators
        or d.root_validators
        or d.field_serializers
        or d.model_serializers
    )


def _data_shape(model: type[BaseModel]) -> Any:
    """A ``TypedDict`` validating like ``model``, or ``model`` itself (see module doc)."""
    fields = _restated(model)
    if not fields or _has_own_logic(model):
        return model
    shape = _typed_dict(f"{model.__name__}Data", fields)
    config = model.model_config
    shape.__pydantic_config__ = ConfigDict(
        strict=bool(config.get("strict", False)), extra=config.get("extra") or "ignore"
    )
    return shape


_ENVELOPE = _restated(CanonicalEvent, skip=frozenset({"type", "data"}))
if not _ENVELOPE or _has_own_logic(CanonicalEvent):
    raise TypeError("CanonicalEvent's fields can no longer be restated: see decode.py")


def _event_shape(event_type: EventType, data_model: type[BaseModel]) -> Any:
    """The envelope of one type (``CanonicalEvent``'s fields, restated) with its data."""
    fields = {**_ENVELOPE, "type": Literal[event_type], "data": _data_shape(data_model)}
    shape = _typed_dict(f"Scored{data_model.__name__}", fields)
    shape.__pydantic_config__ = ConfigDict(extra="ignore")
    return shape


_SCORED_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[  # type: ignore[arg-type]
        Union[tuple(_event_shape(t, m) for t, m in DATA_MODELS.items())],  # noqa: UP007
        Field(discriminator="type"),
    ]
)
# The adapter's own validator: ``TypeAdapter.validate_json`` adds its own work to every call.
_SCORED = _SCORED_ADAPTER.validator


def decode_valid(raw: bytes) -> tuple[Envelope, dict[str, Any]] | None:
    """The event's envelope and its validated data, or None when either is not valid."""
    try:
        doc = _SCORED.validate_json(raw)
    except ValueError:  # pydantic's ValidationError
        return None
    event_type, data = doc["type"], doc["data"]
    if type(data) is not dict:  # a model (see module doc)
        data = DATA_MODELS[event_type].__pydantic_serializer__.to_python(data, mode="json")
    return Envelope(event_type, doc["time"], doc["seq"], doc["source"], doc["id"]), data


def decode(raw: bytes | None) -> tuple[Envelope, dict[str, Any]]:
    """:func:`decode_valid`, else the two passes through the models, which tell why an event
    is refused: raises :class:`Refused`."""
    decoded = decode_valid(raw) if raw else None
    if decoded is not None:
        return decoded
    try:
        if not raw:
            raise ValueError("empty message")
        event = CanonicalEvent.from_bytes(raw)
    except Exception as exc:  # noqa: BLE001 - any undecodable input is refused
        raise Refused("undecodable", exc) from exc
    try:
        return Envelope.of(event), validated_data(event)
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("invalid", exc) from exc


def validated_data(event: CanonicalEvent) -> dict[str, Any]:
    """``event.data`` checked against its type's model as JSON (the wire form: strict, yet an
    enum is its string value), normalised to JSON types. (``model_validate_json`` and
    ``model_dump`` without their wrappers: this runs for every event.)"""
    model_class = DATA_MODELS[event.type]
    model = model_class.__pydantic_validator__.validate_json(orjson.dumps(event.data))
    # (absent optional dossier fields stay absent, as in events.validate_data and decode.py)
    exclude_none = event.type is EventType.DOSSIER_RECEIVED
    return model_class.__pydantic_serializer__.to_python(  # type: ignore[no-any-return]
        model, mode="json", exclude_none=exclude_none
    )
