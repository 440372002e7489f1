"""Source systems and their bearer tokens (SPEC §4: each token is bound to one source system
and the event types it may send).

Tokens are never stored: the YAML holds their SHA-256 (``token_sha256``), or names an
environment variable that holds the token itself (``token_env``, hashed when loaded)::

    sources:
      - name: dvc-portal
        token_sha256: 5e88…          # sha256(token) in hex
        types: ["vn.thidua.dvc.*"]   # fnmatch globs over CloudEvents `type`
        ce_sources: ["/dvc/*"]       # globs over CloudEvents `source` (required with types;
                                     # '*' only when meant)
        xapi: false                  # may POST /v1/xapi/statements
        edxml: false                 # may POST /v1/edxml
        dvcqg: false                 # may POST /v1/dvcqg/dossiers and /v1/dvcqg/procedures
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from thidua.contracts.events import EventType


class AuthConfigError(ValueError):
    """The source-systems file is unusable: refuse to start rather than run open."""


@dataclass(frozen=True)
class SourceSystem:
    name: str
    token_sha256: str
    types: tuple[str, ...] = ()
    ce_sources: tuple[str, ...] = ()
    xapi: bool = False
    edxml: bool = False
    dvcqg: bool = False

    def may_send(self, event_type: EventType | str) -> bool:
        return any(fnmatchcase(str(event_type), pattern) for pattern in self.types)

    def may_use_source(self, source: str) -> bool:
        return any(fnmatchcase(source, pattern) for pattern in self.ce_sources)


# Dev mode (THIDUA_INGEST_OPEN=true and no file): any caller may send anything.
OPEN_SOURCE = SourceSystem(
    name="open",
    token_sha256="",
    types=("*",),
    ce_sources=("*",),
    xapi=True,
    edxml=True,
    dvcqg=True,
)


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Maps a bearer token to its source system (``None`` when unknown)."""

    def __init__(self, systems: list[SourceSystem], open_mode: bool = False) -> None:
        self._by_hash = {system.token_sha256: system for system in systems}
        self.open_mode = open_mode

    @property
    def dvcqg(self) -> bool:
        """Whether any caller may use the DVCQG adapter."""
        return self.open_mode or any(s.dvcqg for s in self._by_hash.values())

    def identify(self, authorization: str | None) -> SourceSystem | None:
        if self.open_mode:
            return OPEN_SOURCE
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = sha256_hex(token.strip())
        system = self._by_hash.get(digest)
        # The dict lookup already chose; compare_digest keeps the final check constant-time.
        if system is not None and hmac.compare_digest(system.token_sha256, digest):
            return system
        return None


def load_sources(path: Path) -> list[SourceSystem]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AuthConfigError(f"cannot read source systems from {path}: {exc}") from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AuthConfigError(f"{path}: expected a non-empty 'sources' list")
    systems: list[SourceSystem] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise AuthConfigError(f"{path}: source #{number} needs a name")
        name = str(entry["name"])
        digest = _token_hash(path, name, entry)
        if digest in seen:
            raise AuthConfigError(f"{path}: source {name!r} shares its token with another")
        seen.add(digest)
        types = entry.get("types") or []
        ce_sources = entry.get("ce_sources") or []
        if not isinstance(types, list) or not isinstance(ce_sources, list):
            raise AuthConfigError(f"{path}: source {name!r}: types/ce_sources must be lists")
        if types and not ce_sources:
            # A token is bound to its CloudEvents sources explicitly: no implicit '*'.
            raise AuthConfigError(
                f"{path}: source {name!r}: list the CloudEvents sources it sends as "
                "(ce_sources: ['/its/source/*']; '*' only when meant)"
            )
        systems.append(
            SourceSystem(
                name=name,
                token_sha256=digest,
                types=tuple(str(t) for t in types),
                ce_sources=tuple(str(s) for s in ce_sources),
                xapi=bool(entry.get("xapi", False)),
                edxml=bool(entry.get("edxml", False)),
                dvcqg=bool(entry.get("dvcqg", False)),
            )
        )
    return systems


def _token_hash(path: Path, name: str, entry: dict[str, object]) -> str:
    if entry.get("token_env"):
        token = os.environ.get(str(entry["token_env"]), "")
        if len(token) < 16:
            raise AuthConfigError(
                f"{path}: source {name!r}: ${entry['token_env']} must hold a 16+ character token"
            )
        return sha256_hex(token)
    digest = str(entry.get("token_sha256", "")).strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise AuthConfigError(f"{path}: source {name!r}: token_sha256 must be 64 hex digits")
    return digest


def authenticator_from(tokens_file: Path | None, open_mode: bool) -> Authenticator:
    if tokens_file is not None:
        return Authenticator(load_sources(tokens_file))
    if open_mode:
        return Authenticator([], open_mode=True)
    raise AuthConfigError(
        "set THIDUA_INGEST_TOKENS_FILE (see config/ingest-sources.example.yaml), "
        "or THIDUA_INGEST_OPEN=true for an open development ingest"
    )
