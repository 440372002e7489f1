"""The award dossier (hồ sơ đề nghị khen thưởng, seed §IV.3; SPEC §7.3) as one XLSX workbook:
a cover sheet, one ranking sheet per ranked tier, the award list, and one evidence sheet per
eligible unit with every criterion's numerator, denominator, value, target and whether it
is met. Every sheet prints on A4 landscape with its table header repeated on each page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from services.api import xlsx
from services.api.exports import NO, RANKING_COLUMNS, TIER_SHORT, YES, ranking_rows
from services.api.views import PeriodView
from services.api.xlsx import WIDE, Column, put_text
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import LOCAL_TZ, Period
from thidua.contracts.scorecard import Scorecard

TITLE_FONT = Font(bold=True, size=16)
SUBTITLE_FONT = Font(bold=True, size=12)
LABEL_FONT = Font(bold=True)
PROVISIONAL_FONT = Font(bold=True, color="B3261E")
ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}

AWARD_COLUMNS: tuple[Column, ...] = (
    Column("STT", "int", 6),
    Column("Mã đơn vị", "text", 18),
    Column("Tên đơn vị", "text", WIDE),
    Column("Cấp", "text", 24),
    Column("Khối thi đua", "text", 14),
    Column("Hạng trong cấp", "int", 9),
    Column("Điểm", "score", 9),
    Column("Tiêu chí đạt", "int", 9),
    Column("Tổng số tiêu chí", "int", 9),
    Column("Phụ lục minh chứng", "text", 20),
)
EVIDENCE_COLUMNS: tuple[Column, ...] = (
    Column("Mã tiêu chí", "text", 9),
    Column("Tiêu chí", "text", WIDE),
    Column("Cách tính", "text", 12),
    Column("Tử số", "number", 12),
    Column("Mẫu số", "number", 12),
    Column("Giá trị", "ratio", 10),
    Column("Chỉ tiêu", "ratio", 10),
    Column("Đạt", "text", 7),
    Column("Mức hoàn thành", "ratio", 11),
    Column("Trọng số", "score", 9),
)
TABLE_ROW = 5  # tables start below a title, a subtitle and a blank row


@dataclass(frozen=True)
class PlanMeta:
    """What the cover states about the plan the period is scored under (SPEC §7.1)."""

    plan_id: str
    plan: str
    provisional: bool
    note: str | None
    final: bool  # false while the period has not ended: "tạm tính"


def plan_meta(view: PeriodView) -> PlanMeta:
    """The plan the period is scored under (in force on its last day) and its finality, as
    every answer states them (``PeriodView.plan_fields``)."""
    fields = view.plan_fields
    return PlanMeta(
        plan_id=str(fields["plan_id"]),
        plan=view.plan.plan,
        provisional=bool(fields["plan_provisional"]),
        note=fields["plan_note"],
        final=bool(fields["final"]),
    )


def period_label(period: Period) -> str:
    if period.kind == "year":
        return f"Năm {period.id}"
    if period.kind == "quarter":
        return f"Quý {ROMAN[period.id[-1]]}/{period.id[:4]}"
    if period.kind == "phase":
        return f"Giai đoạn {period.start_day.year}–{period.end_day.year - 1}"
    return "30 ngày gần nhất"


def local_text(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M (giờ Việt Nam, +07:00)")


def day_text(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")


def award_dossier(view: PeriodView, config: CriteriaConfig, meta: PlanMeta) -> bytes:
    book = Workbook()
    cover = book.active
    assert cover is not None
    taken: set[str] = set()
    cover.title = xlsx.sheet_title("Bìa", taken)
    tiers = [t for t in Tier if any(c.rank is not None for c in view.ranked(t))]
    eligible = [c for t in tiers for c in view.ranked(t) if c.award_eligible]
    evidence_titles = [
        xlsx.sheet_title(f"MC{n:02d} {card.unit.unit_id}", taken)
        for n, card in enumerate(eligible, start=1)
    ]
    ranking_titles = [xlsx.sheet_title(f"Xếp hạng {TIER_SHORT[t]}", taken) for t in tiers]
    awards_title = xlsx.sheet_title("Danh sách khen thưởng", taken)
    subtitle = _subtitle(view.period, meta)

    for tier, title in zip(tiers, ranking_titles, strict=True):
        sheet = book.create_sheet(title)
        _heading(sheet, f"Bảng xếp hạng — {config.tiers.get(tier, tier.value)}", subtitle, meta)
        xlsx.write_table(sheet, RANKING_COLUMNS, ranking_rows(view, tier, None), TABLE_ROW)
        xlsx.print_setup(sheet, title)

    awards = book.create_sheet(awards_title)
    _heading(awards, f"Danh sách đơn vị đề nghị tặng {config.award}", subtitle, meta)
    rows = [
        _award_row(n, c, config, t)
        for n, (c, t) in enumerate(zip(eligible, evidence_titles, strict=True), start=1)
    ]
    xlsx.write_table(awards, AWARD_COLUMNS, rows, TABLE_ROW)
    for offset, target in enumerate(evidence_titles, start=1):
        awards.cell(TABLE_ROW + offset, len(AWARD_COLUMNS)).hyperlink = f"#'{target}'!A1"
    xlsx.print_setup(awards, awards_title)

    for card, title in zip(eligible, evidence_titles, strict=True):
        sheet = book.create_sheet(title)
        _evidence(sheet, card, config, subtitle, meta)
        xlsx.print_setup(sheet, f"Minh chứng — {card.unit.name}")

    _cover(cover, view, config, meta, tiers, eligible, [*ranking_titles, awards_title])
    return xlsx.save(book)


def _subtitle(period: Period, meta: PlanMeta) -> str:
    last_day = day_text(period.end - timedelta(days=1))
    text = f"{period_label(period)} ({day_text(period.start)} – {last_day})"
    return text + (" — TẠM TÍNH" if not meta.final else "")


def _heading(sheet: Worksheet, title: str, subtitle: str, meta: PlanMeta) -> None:
    put_text(sheet.cell(1, 1), title)
    sheet.cell(1, 1).font = SUBTITLE_FONT
    put_text(sheet.cell(2, 1), subtitle)
    sheet.cell(2, 1).font = PROVISIONAL_FONT if not meta.final else LABEL_FONT
    if meta.provisional and meta.note:
        put_text(sheet.cell(3, 1), f"Kế hoạch tạm áp dụng: {meta.note}")
        sheet.cell(3, 1).font = PROVISIONAL_FONT


def _award_row(n: int, card: Scorecard, config: CriteriaConfig, sheet: str) -> list[Any]:
    unit = card.unit
    return [
        n,
        unit.unit_id,
        unit.name,
        config.tiers.get(unit.tier, unit.tier.value),
        unit.block or "",
        card.rank,
        card.score,
        card.criteria_met,
        card.criteria_total,
        sheet,
    ]


def _evidence(
    sheet: Worksheet, card: Scorecard, config: CriteriaConfig, subtitle: str, meta: PlanMeta
) -> None:
    unit = card.unit
    _heading(sheet, f"Minh chứng tiêu chí — {unit.name} ({unit.unit_id})", subtitle, meta)
    facts = (
        f"{config.tiers.get(unit.tier, unit.tier.value)}"
        + (f" · Khối {unit.block}" if unit.block else "")
        + f" · Hạng {card.rank} · Điểm {card.score:.2f}".replace(".", ",")
        + f" · Đạt {card.criteria_met}/{card.criteria_total} tiêu chí"
    )
    put_text(sheet.cell(4, 1), facts)
    rows = []
    for result in card.criteria:
        criterion = config.by_id(result.id)
        rows.append(
            [
                result.id,
                criterion.label,
                "Phát sinh trong kỳ" if criterion.kind == "flow" else "Cuối kỳ",
                result.numerator,
                result.denominator,
                result.value,
                result.target,
                YES if result.met else NO,
                result.attainment,
                result.weight,
            ]
        )
    xlsx.write_table(sheet, EVIDENCE_COLUMNS, rows, TABLE_ROW)


def _cover(
    sheet: Worksheet,
    view: PeriodView,
    config: CriteriaConfig,
    meta: PlanMeta,
    tiers: Sequence[Tier],
    eligible: Sequence[Scorecard],
    contents: Sequence[str],
) -> None:
    period = view.period
    cutoff = min(view.computed_at, period.end)
    put_text(sheet.cell(1, 1), "HỒ SƠ ĐỀ NGHỊ KHEN THƯỞNG")
    sheet.cell(1, 1).font = TITLE_FONT
    put_text(sheet.cell(2, 1), f"Phong trào thi đua Chuyển đổi số — đề nghị tặng {config.award}")
    sheet.cell(2, 1).font = SUBTITLE_FONT
    facts: list[tuple[str, str]] = [
        ("Kế hoạch", meta.plan),
        ("Mã kế hoạch", meta.plan_id),
        ("Kế hoạch tạm áp dụng", YES if meta.provisional else NO),
        ("Ghi chú kế hoạch", meta.note or ""),
        ("Kỳ đánh giá", f"{period_label(period)} ({period.id})"),
        ("Thời gian", f"{day_text(period.start)} – {day_text(period.end - timedelta(days=1))}"),
        ("Số liệu tính đến", local_text(cutoff)),
        ("Thời điểm lập", local_text(view.computed_at)),
        (
            "Tình trạng số liệu",
            "Chính thức (kỳ đã kết thúc)" if meta.final else "TẠM TÍNH — kỳ đánh giá chưa kết thúc",
        ),
        ("Số đơn vị đủ điều kiện", str(len(eligible))),
    ]
    row = 4
    for label, value in facts:
        put_text(sheet.cell(row, 1), label)
        sheet.cell(row, 1).font = LABEL_FONT
        put_text(sheet.cell(row, 2), value)
        sheet.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        if label == "Tình trạng số liệu" and not meta.final:
            sheet.cell(row, 2).font = PROVISIONAL_FONT
        row += 1
    row += 1
    summary = [
        [
            config.tiers.get(t, t.value),
            sum(1 for c in view.ranked(t) if c.rank is not None),
            sum(1 for c in eligible if c.unit.tier == t),
        ]
        for t in tiers
    ]
    columns = (
        Column("Cấp", "text", 28),
        Column("Số đơn vị xếp hạng", "int", 60),
        Column("Số đơn vị đủ điều kiện", "int", 22),
    )
    xlsx.write_table(sheet, columns, summary, row)
    sheet.freeze_panes = None
    sheet.print_title_rows = None
    row += len(summary) + 2
    put_text(sheet.cell(row, 1), "Nội dung hồ sơ")
    sheet.cell(row, 1).font = LABEL_FONT
    for offset, title in enumerate([*contents, "MC…: minh chứng từng đơn vị"], start=1):
        put_text(sheet.cell(row + offset, 1), f"{offset}. {title}")
    xlsx.print_setup(sheet, "Hồ sơ đề nghị khen thưởng")
