"""The default unit registry of a simulated Tuyên Quang province (SPEC §2).

Communes and wards come from the ``vietnam-provinces`` package (2-level administration after
the 2025 reform: Tuyên Quang, code 08, merged with Hà Giang — 124 communes/wards). Provincial
departments, the seven pre-2025 districts/city and a few enterprises are added here.

The 2025 reform is modelled as history, not erased: the districts are registered active from
2021-01-01 and deactivated on 2025-07-01 with a ``successor_id`` (the commune at the old district
seat); the communes/wards exist from 2025-07-01. So 2021–2024 and 2025-Q1/Q2 rank districts,
while ``2025`` and later rank communes and leave the districts unranked (inactive at the
period's end — their scorecards still answer).

Emulation blocks (khối thi đua) of communes follow the pre-2025 districts their ward codes
come from (GSO codes are allocated by district), grouped into six regional blocks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from thidua.contracts.events import Tier

DEFAULT_REGISTRY_FILE = Path(__file__).resolve().parents[2] / "config" / "units-tuyen-quang.yaml"
PROVINCE_CODE = 8
REGISTRY_START = date(2021, 1, 1)
REFORM_DAY = date(2025, 7, 1)

_AGENCY_BLOCK_GENERAL = "Khối các cơ quan tổng hợp, nội chính"
_AGENCY_BLOCK_ECONOMY = "Khối các cơ quan kinh tế, kỹ thuật"
_AGENCY_BLOCK_SOCIAL = "Khối các cơ quan văn hóa, xã hội"
_DISTRICT_BLOCK = "Khối các huyện, thành phố (trước 01/7/2025)"
_ENTERPRISE_BLOCK = "Khối doanh nghiệp, hợp tác xã"

# (slug, name, block)
_AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("vp-ubnd", "Văn phòng UBND tỉnh", _AGENCY_BLOCK_GENERAL),
    ("so-noi-vu", "Sở Nội vụ", _AGENCY_BLOCK_GENERAL),
    ("so-tai-chinh", "Sở Tài chính", _AGENCY_BLOCK_GENERAL),
    ("so-tu-phap", "Sở Tư pháp", _AGENCY_BLOCK_GENERAL),
    ("thanh-tra", "Thanh tra tỉnh", _AGENCY_BLOCK_GENERAL),
    ("so-dan-toc-ton-giao", "Sở Dân tộc và Tôn giáo", _AGENCY_BLOCK_GENERAL),
    ("so-khcn", "Sở Khoa học và Công nghệ", _AGENCY_BLOCK_ECONOMY),
    ("so-xay-dung", "Sở Xây dựng", _AGENCY_BLOCK_ECONOMY),
    ("so-nnmt", "Sở Nông nghiệp và Môi trường", _AGENCY_BLOCK_ECONOMY),
    ("so-cong-thuong", "Sở Công Thương", _AGENCY_BLOCK_ECONOMY),
    ("bql-kcn", "Ban Quản lý các khu công nghiệp", _AGENCY_BLOCK_ECONOMY),
    ("so-y-te", "Sở Y tế", _AGENCY_BLOCK_SOCIAL),
    ("so-gddt", "Sở Giáo dục và Đào tạo", _AGENCY_BLOCK_SOCIAL),
    ("so-vhttdl", "Sở Văn hóa, Thể thao và Du lịch", _AGENCY_BLOCK_SOCIAL),
)

# (GSO district code, name, ward code of the seat's commune after the reform)
_DISTRICTS: tuple[tuple[int, str, int], ...] = (
    (70, "UBND thành phố Tuyên Quang", 2215),  # Phường Minh Xuân
    (71, "UBND huyện Lâm Bình", 2266),
    (72, "UBND huyện Na Hang", 2221),
    (73, "UBND huyện Chiêm Hóa", 2287),
    (74, "UBND huyện Hàm Yên", 2374),
    (75, "UBND huyện Yên Sơn", 2473),
    (76, "UBND huyện Sơn Dương", 2536),
)

# Simulated enterprises and cooperatives (fictional names).
_ENTERPRISES: tuple[tuple[str, str], ...] = (
    ("cntt-tan-trao", "Công ty Cổ phần Công nghệ số Tân Trào"),
    ("phan-mem-song-lo", "Công ty TNHH Phần mềm Sông Lô"),
    ("du-lich-so-dong-van", "Công ty TNHH Du lịch số Cao nguyên đá Đồng Văn"),
    ("htx-che-na-hang", "Hợp tác xã Chè Shan tuyết Na Hang"),
    ("htx-cam-ham-yen", "Hợp tác xã Cam sành Hàm Yên"),
    ("vien-thong-ha-giang", "Công ty Cổ phần Dịch vụ viễn thông Hà Giang"),
)

# Ward-code ranges (pre-2025 districts) → regional commune blocks.
_COMMUNE_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0, 711, "Khối xã, phường số 1 (Hà Giang, Vị Xuyên, Bắc Mê)"),
    (712, 912, "Khối xã số 2 (Đồng Văn, Mèo Vạc, Yên Minh, Quản Bạ)"),
    (913, 1015, "Khối xã, phường số 1 (Hà Giang, Vị Xuyên, Bắc Mê)"),
    (1016, 1150, "Khối xã số 3 (Hoàng Su Phì, Xín Mần)"),
    (1151, 1999, "Khối xã số 4 (Bắc Quang, Quang Bình)"),
    (2000, 2220, "Khối xã, phường số 5 (Tuyên Quang, Yên Sơn, Sơn Dương)"),
    (2221, 2418, "Khối xã số 6 (Na Hang, Lâm Bình, Chiêm Hóa, Hàm Yên)"),
    (2419, 9999, "Khối xã, phường số 5 (Tuyên Quang, Yên Sơn, Sơn Dương)"),
)


@dataclass(frozen=True, slots=True)
class RegistryUnit:
    """A unit as the simulator registers it: the SPEC §2 fields plus its lifetime."""

    unit_id: str
    name: str
    tier: Tier
    block: str | None = None
    parent_id: str | None = None
    organ_ids: tuple[str, ...] = field(default_factory=tuple)
    successor_id: str | None = None
    valid_from: date = REGISTRY_START
    valid_to: date | None = None  # exclusive: deactivated from this day

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def to_yaml(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["tier"] = self.tier.value
        raw["organ_ids"] = list(self.organ_ids)
        raw["valid_from"] = self.valid_from.isoformat()
        raw["valid_to"] = self.valid_to.isoformat() if self.valid_to else None
        return raw

    @classmethod
    def from_yaml(cls, raw: dict[str, Any]) -> RegistryUnit:
        valid_to = raw.get("valid_to")
        return cls(
            unit_id=str(raw["unit_id"]),
            name=str(raw["name"]),
            tier=Tier(raw["tier"]),
            block=raw.get("block"),
            parent_id=raw.get("parent_id"),
            organ_ids=tuple(raw.get("organ_ids") or ()),
            successor_id=raw.get("successor_id"),
            valid_from=_day(raw.get("valid_from") or REGISTRY_START),
            valid_to=_day(valid_to) if valid_to else None,
        )


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def commune_id(ward_code: int) -> str:
    return f"tq-xa-{ward_code:05d}"


def _commune_block(ward_code: int) -> str:
    for low, high, block in _COMMUNE_BLOCKS:
        if low <= ward_code <= high:
            return block
    raise ValueError(f"no block for ward code {ward_code}")


def build_registry() -> list[RegistryUnit]:
    """The default registry, deterministic: agencies, districts, communes, enterprises."""
    from vietnam_provinces import ProvinceCode, Ward

    units: list[RegistryUnit] = []
    for n, (slug, name, block) in enumerate(_AGENCIES, start=1):
        units.append(
            RegistryUnit(
                f"tq-{slug}", name, Tier.PROVINCE_AGENCY, block, organ_ids=(f"000.{n:02d}.08.H59",)
            )
        )
    for gso, name, seat in _DISTRICTS:
        units.append(
            RegistryUnit(
                f"tq-huyen-{gso:03d}",
                name,
                Tier.DISTRICT,
                _DISTRICT_BLOCK,
                organ_ids=(f"000.00.{gso:02d}.H59",),
                successor_id=commune_id(seat),
                valid_to=REFORM_DAY,
            )
        )
    wards = sorted(Ward.iter_by_province(ProvinceCode(PROVINCE_CODE)), key=lambda w: int(w.code))
    for ward in wards:
        code = int(ward.code)
        units.append(
            RegistryUnit(
                commune_id(code),
                f"UBND {ward.name[0].lower()}{ward.name[1:]}",
                Tier.COMMUNE,
                _commune_block(code),
                organ_ids=(f"{code:05d}.08.H59",),
                valid_from=REFORM_DAY,
            )
        )
    for slug, name in _ENTERPRISES:
        units.append(RegistryUnit(f"tq-dn-{slug}", name, Tier.ENTERPRISE, _ENTERPRISE_BLOCK))
    return units


_HEADER = """\
# Default unit registry of the simulated Tuyên Quang province (SPEC §2).
# Generated by `thidua simulate --write-registry` from the vietnam-provinces package
# (communes/wards after the 2025 reform) plus provincial departments, the pre-2025 districts
# (inactive from 2025-07-01, successor = the commune at the old seat) and simulated enterprises.
# valid_from / valid_to (exclusive) give each unit's lifetime; the simulator emits
# vn.thidua.unit.upserted at valid_from (active) and at valid_to (inactive).
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
    """Read a registry file (default: the shipped Tuyên Quang one)."""
    file = Path(path) if path else DEFAULT_REGISTRY_FILE
    raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    units = [RegistryUnit.from_yaml(row) for row in raw["units"]]
    ids = [u.unit_id for u in units]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate unit_id in {file}")
    return units


@cache
def default_registry() -> tuple[RegistryUnit, ...]:
    return tuple(load_registry())
