"""The default unit registry of the simulated merged Tuyên Quang province (SPEC §2, §7.2).

Communes and wards come from the ``vietnam-provinces`` package (2-level administration after
the 2025 reform: Tuyên Quang, code 08, merged with Hà Giang — 124 communes/wards, from
2025-07-01). Provincial departments, the 18 pre-2025 districts/cities of both former provinces
and a few enterprises come from :mod:`tools.simulate.province`.

The reform is modelled as history, never erased: each unit is a list of dated versions
(name, block, active, successor) and the simulator sends each version at its day.
- Districts (7 of Tuyên Quang, 11 of Hà Giang) are active from 2021-01-01 and close on
  2025-07-01 with ``successor_id`` = the commune/ward at the old seat.
- Departments: on 2025-03-01 Sở TT&TT, Sở KH&ĐT, Sở LĐTB&XH, Sở GTVT and Sở TN&MT close into
  their successors (Sở KH&CN, Tài chính, Nội vụ, Xây dựng, NN&MT) and two departments are
  renamed (Sở NN&PTNT → Sở NN&MT, Ban Dân tộc → Sở Dân tộc và Tôn giáo): a rename is a new
  version of the same unit, a merger closes the merged-away unit.
- Hà Giang's former departments are not separate units: the merged province's departments
  keep Tuyên Quang's unit ids, and before 2025-07-01 they are Tuyên Quang's departments. The
  communes of both provinces before 2025-07-01 are not registered either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from thidua.contracts.events import Tier
from tools.simulate import province as pv
from tools.simulate.province import DEPARTMENT_REFORM_DAY, REFORM_DAY

DEFAULT_REGISTRY_FILE = Path(__file__).resolve().parents[2] / "config" / "units-tuyen-quang.yaml"
PROVINCE_CODE = 8
REGISTRY_START = date(2021, 1, 1)
UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True, slots=True)
class UnitVersion:
    """What a unit is from ``valid_from`` until its next version."""

    valid_from: date
    name: str
    block: str | None = None
    active: bool = True
    successor_id: str | None = None


@dataclass(frozen=True, slots=True)
class RegistryUnit:
    """A unit as the simulator registers it: the SPEC §2 fields, name and state dated."""

    unit_id: str
    tier: Tier
    versions: tuple[UnitVersion, ...]
    parent_id: str | None = None
    organ_ids: tuple[str, ...] = field(default_factory=tuple)

    def version_on(self, day: date) -> UnitVersion | None:
        """The version in force on ``day`` (None before the unit exists)."""
        current = None
        for version in self.versions:
            if version.valid_from > day:
                break
            current = version
        return current

    def active_on(self, day: date) -> bool:
        version = self.version_on(day)
        return version is not None and version.active

    def name_on(self, day: date) -> str:
        return (self.version_on(day) or self.versions[0]).name

    @property
    def valid_from(self) -> date:
        return self.versions[0].valid_from

    @property
    def closing(self) -> UnitVersion | None:
        """The version that closes the unit, if any."""
        return next((v for v in self.versions if not v.active), None)

    @property
    def valid_to(self) -> date | None:
        """The closing day (exclusive end of the unit's life)."""
        closing = self.closing
        return closing.valid_from if closing else None

    @property
    def successor_id(self) -> str | None:
        closing = self.closing
        return closing.successor_id if closing else None

    @property
    def name(self) -> str:
        """The latest name."""
        return self.versions[-1].name

    @property
    def block(self) -> str | None:
        return self.versions[-1].block

    def to_yaml(self) -> dict[str, Any]:
        """Versions after the first carry only what changes (name, block, closing)."""
        rows: list[dict[str, Any]] = []
        previous: UnitVersion | None = None
        for v in self.versions:
            row: dict[str, Any] = {"valid_from": v.valid_from.isoformat()}
            if previous is None or v.name != previous.name:
                row["name"] = v.name
            if previous is None or v.block != previous.block:
                row["block"] = v.block
            if not v.active:
                row["active"] = False
            if v.successor_id:
                row["successor_id"] = v.successor_id
            rows.append(row)
            previous = v
        return {
            "unit_id": self.unit_id,
            "tier": self.tier.value,
            "parent_id": self.parent_id,
            "organ_ids": list(self.organ_ids),
            "versions": rows,
        }

    @classmethod
    def from_yaml(cls, raw: dict[str, Any]) -> RegistryUnit:
        rows = raw.get("versions") or _legacy_versions(raw)
        versions: list[UnitVersion] = []
        for row in rows:
            previous = versions[-1] if versions else None
            name = row.get("name", previous.name if previous else None)
            if not name:
                raise ValueError(f"{raw.get('unit_id')}: a first version needs a name")
            versions.append(
                UnitVersion(
                    valid_from=_day(row["valid_from"]),
                    name=str(name),
                    block=row["block"] if "block" in row else _carried_block(previous),
                    active=bool(row.get("active", True)),
                    successor_id=row.get("successor_id"),
                )
            )
        return cls(
            unit_id=str(raw["unit_id"]),
            tier=Tier(raw["tier"]),
            versions=tuple(versions),
            parent_id=raw.get("parent_id"),
            organ_ids=tuple(raw.get("organ_ids") or ()),
        )


def _carried_block(previous: UnitVersion | None) -> str | None:
    return previous.block if previous else None


def _legacy_versions(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The first file format (one name, ``valid_from``/``valid_to``) as versions."""
    rows: list[dict[str, Any]] = [
        {
            "valid_from": raw.get("valid_from") or REGISTRY_START,
            "name": raw["name"],
            "block": raw.get("block"),
        }
    ]
    if raw.get("valid_to"):
        rows.append(
            {
                "valid_from": raw["valid_to"],
                "active": False,
                "successor_id": raw.get("successor_id"),
            }
        )
    return rows


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def commune_id(ward_code: int) -> str:
    return f"tq-xa-{ward_code:05d}"


def district_id(gso_code: int) -> str:
    return f"tq-huyen-{gso_code:03d}"


def unit(
    unit_id: str,
    tier: Tier,
    name: str,
    block: str | None,
    organ_ids: tuple[str, ...] = (),
    valid_from: date = REGISTRY_START,
) -> RegistryUnit:
    """A unit with one version; :func:`renamed` and :func:`closed` add the later ones."""
    return RegistryUnit(unit_id, tier, (UnitVersion(valid_from, name, block),), None, organ_ids)


def renamed(u: RegistryUnit, day: date, name: str) -> RegistryUnit:
    last = u.versions[-1]
    return replace(u, versions=(*u.versions, replace(last, valid_from=day, name=name)))


def closed(u: RegistryUnit, day: date, successor_id: str | None) -> RegistryUnit:
    last = u.versions[-1]
    closing = replace(last, valid_from=day, active=False, successor_id=successor_id)
    return replace(u, versions=(*u.versions, closing))


def build_registry() -> list[RegistryUnit]:
    """The default registry, deterministic: agencies, districts, communes, enterprises."""
    from vietnam_provinces import ProvinceCode, Ward

    units: list[RegistryUnit] = []
    agencies = [(slug, name, block, new) for slug, name, block, new in pv.AGENCIES]
    agencies += [(slug, name, block, None) for slug, name, block, _ in pv.MERGED_AGENCIES]
    merged_into = {slug: successor for slug, _, _, successor in pv.MERGED_AGENCIES}
    for n, (slug, name, block, new_name) in enumerate(agencies, start=1):
        agency = unit(f"tq-{slug}", Tier.PROVINCE_AGENCY, name, block, (f"000.{n:02d}.08.H59",))
        if new_name:
            agency = renamed(agency, DEPARTMENT_REFORM_DAY, new_name)
        if slug in merged_into:
            agency = closed(agency, DEPARTMENT_REFORM_DAY, f"tq-{merged_into[slug]}")
        units.append(agency)
    for gso, name, seat, block in pv.DISTRICTS:
        district = unit(district_id(gso), Tier.DISTRICT, name, block, (f"000.00.{gso:02d}.H59",))
        units.append(closed(district, REFORM_DAY, commune_id(seat)))
    wards = sorted(Ward.iter_by_province(ProvinceCode(PROVINCE_CODE)), key=lambda w: int(w.code))
    for ward in wards:
        code = int(ward.code)
        name = f"UBND {ward.name[0].lower()}{ward.name[1:]}"
        organs = (f"{code:05d}.08.H59",)
        units.append(
            unit(commune_id(code), Tier.COMMUNE, name, pv.commune_block(code), organs, REFORM_DAY)
        )
    for slug, name in pv.ENTERPRISES:
        units.append(unit(f"tq-dn-{slug}", Tier.ENTERPRISE, name, pv.ENTERPRISE_BLOCK))
    check_registry(units)
    return units


def check_registry(units: Iterable[RegistryUnit]) -> None:
    """Refuse a registry whose ids, OrganIds, versions or successors do not hold together."""
    by_id: dict[str, RegistryUnit] = {}
    owners: dict[str, str] = {}
    for u in units:
        if not UNIT_ID.match(u.unit_id):
            raise ValueError(f"invalid unit_id {u.unit_id!r}")
        if u.unit_id in by_id:
            raise ValueError(f"duplicate unit_id {u.unit_id}")
        by_id[u.unit_id] = u
        for organ in u.organ_ids:
            if organ in owners:
                raise ValueError(f"OrganId {organ} of both {owners[organ]} and {u.unit_id}")
            owners[organ] = u.unit_id
        days = [v.valid_from for v in u.versions]
        if not days or days != sorted(set(days)):
            raise ValueError(f"{u.unit_id}: versions must have increasing valid_from")
    for u in by_id.values():
        successor = u.successor_id
        if successor is None:
            continue
        if successor not in by_id or successor == u.unit_id:
            raise ValueError(f"{u.unit_id}: unknown successor {successor}")
        if u.valid_to is None or not by_id[successor].active_on(u.valid_to):
            raise ValueError(f"{u.unit_id}: successor {successor} is not active on its closing")


_HEADER = """\
# Default unit registry of the simulated merged Tuyên Quang province (SPEC §2, §7.2).
# Generated by `thidua simulate --write-registry` from the vietnam-provinces package
# (communes/wards after the 2025 reform) plus provincial departments, the pre-2025 districts
# of Tuyên Quang and Hà Giang (closed on 2025-07-01, successor = the commune at the old seat)
# and simulated enterprises.
# Each unit lists its versions: the first gives name and block from valid_from; a later one
# carries only what changes from its valid_from (a new name, a new block, or `active: false`
# with `successor_id` when the unit closes). The simulator sends vn.thidua.unit.upserted for
# each version at its day. The older flat format (name, valid_from, valid_to) still loads.
"""


def write_registry(path: Path | None = None, units: list[RegistryUnit] | None = None) -> Path:
    file = path or DEFAULT_REGISTRY_FILE
    rows = [u.to_yaml() for u in (units if units is not None else build_registry())]
    body = yaml.safe_dump(
        {"province": {"code": PROVINCE_CODE, "name": "Tuyên Quang"}, "units": rows},
        allow_unicode=True,
        sort_keys=False,
        width=120,
    )
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(_HEADER + body, encoding="utf-8")
    return file


def load_registry(path: Path | str | None = None) -> list[RegistryUnit]:
    """Read a registry file (default: the shipped Tuyên Quang one), checked."""
    file = Path(path) if path else DEFAULT_REGISTRY_FILE
    raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    units = [RegistryUnit.from_yaml(row) for row in raw["units"]]
    try:
        check_registry(units)
    except ValueError as exc:
        raise ValueError(f"{file}: {exc}") from None
    return units


@cache
def default_registry() -> tuple[RegistryUnit, ...]:
    return tuple(load_registry())


__all__ = [
    "DEPARTMENT_REFORM_DAY",
    "REFORM_DAY",
    "RegistryUnit",
    "UnitVersion",
    "build_registry",
    "check_registry",
    "default_registry",
    "load_registry",
    "write_registry",
]
