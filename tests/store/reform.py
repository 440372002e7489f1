"""A small reform province (SPEC §7.2), hand-written: districts closing on 2025-07-01 into
communes, a department closing on 2025-03-01 into another (transitively into a third in
2026), a rename, a dissolution without successor, and sources that keep using old unit codes
after a closing. Every criterion kind has an item on each side of a closing."""

from __future__ import annotations

from tests.store.builders import event, unit
from tests.store.test_recompute import flag_event, indicator, staff, trained
from thidua.contracts.events import CanonicalEvent, EventType

E = EventType
PERIODS = ("2024", "2025", "2025-Q1", "2025-Q2", "2025-Q3", "phase-2021-2025", "2026", "2026-Q1")


def dossier(did: str, unit_id: str, when: str, channel: str = "online_full") -> CanonicalEvent:
    data = {"dossier_id": did, "unit_id": unit_id, "procedure_id": "PR1", "channel": channel}
    return event(E.DOSSIER_RECEIVED, when, data)


def procedure(pid: str, unit_id: str, when: str, full: bool = True) -> CanonicalEvent:
    data = {"procedure_id": pid, "unit_id": unit_id, "full_online_eligible": True,
            "full_online": full, "mobile": full}  # fmt: skip
    return event(E.PROCEDURE_UPSERTED, when, data)


def registry() -> list[CanonicalEvent]:
    return [
        unit("H1", tier="district", name="UBND huyện Một", block="Khối huyện"),
        unit("H1", "2023-05-10 09:30", tier="district", name="UBND thành phố Một",
             block="Khối huyện"),
        unit("H1", "2025-07-01", tier="district", name="UBND thành phố Một", active=False,
             successor="X1"),
        unit("H2", tier="district", name="UBND huyện Hai", block="Khối huyện"),
        unit("H2", "2025-07-01", tier="district", name="UBND huyện Hai", active=False,
             successor="X2"),
        unit("X1", "2025-07-01", tier="commune", name="Phường Một"),
        unit("X2", "2025-07-01", tier="commune", name="Xã Hai"),
        unit("S1", name="Sở Thông tin và Truyền thông"),
        unit("S1", "2025-03-01", name="Sở Thông tin và Truyền thông", active=False,
             successor="S2"),
        unit("S2", name="Sở Khoa học và Công nghệ"),
        unit("S2", "2026-02-01", name="Sở Khoa học và Công nghệ", active=False, successor="S3"),
        unit("S3", "2026-02-01", name="Sở Khoa học, Công nghệ và Chuyển đổi số"),
        unit("S4", name="Sở Nông nghiệp và PTNT"),
        unit("S4", "2025-03-01", name="Sở Nông nghiệp và Môi trường"),
        unit("S5", name="Ban Quản lý dự án"),
        unit("S5", "2024-06-15 14:00", name="Ban Quản lý dự án", active=False),  # dissolved
        unit("ENT", tier="enterprise", name="Doanh nghiệp số"),
    ]  # fmt: skip


def activity() -> list[CanonicalEvent]:
    rated = E.DOSSIER_RATED
    return [
        # C03 / C05 around the district closing; sources lag: H1 codes after 2025-07-01.
        dossier("D1", "H1", "2025-06-30 23:59"),
        dossier("D2", "H1", "2025-08-03", "direct"),  # for X1 (sent late under H1)
        dossier("D3", "X1", "2025-08-04"),
        dossier("D4", "H2", "2025-02-01", "direct"),
        dossier("D4", "H2", "2025-09-01"),  # correction: its winner is after the closing
        dossier("D5", "S1", "2025-02-28 10:00"),
        dossier("D6", "S1", "2025-03-05"),  # for S2
        dossier("D7", "S1", "2026-03-01"),  # for S3, through S2
        dossier("D8", "S5", "2024-07-01"),  # dissolved: stays with S5
        flag_event(rated, "dossier_id", "D1", "H1", "2025-06-30", satisfied=True),
        flag_event(rated, "dossier_id", "D2", "H1", "2025-08-05", satisfied=False),
        # C11 / C13 / C12 / C14 on each side of the department closing
        flag_event(E.DOCUMENT_SENT, "document_id", "V1", "S1", "2025-02-01",
                   electronic=True, digitally_signed=True, confidential=False),
        flag_event(E.DOCUMENT_SENT, "document_id", "V2", "S1", "2025-04-01",
                   electronic=True, digitally_signed=False, confidential=False),
        flag_event(E.WORKFILE_CLOSED, "workfile_id", "W1", "H1", "2025-05-01",
                   online=True, digitally_signed=True, secret=False),
        flag_event(E.WORKFILE_CLOSED, "workfile_id", "W2", "H1", "2025-07-15",
                   online=True, digitally_signed=False, secret=False),
        flag_event(E.REPORT_SUBMITTED, "report_id", "B1", "S1", "2025-01-05",
                   via_shared_system=True),
        flag_event(E.INSPECTION_COMPLETED, "inspection_id", "I1", "H2", "2025-08-01",
                   digital=True),
        # stocks: procedures, staff (moves after the closing), training, indicators
        procedure("PR1", "S1", "2024-01-01"),
        procedure("PR2", "S1", "2024-01-01", full=False),
        procedure("PR2", "S2", "2025-04-01"),  # moved to S2 after the closing
        staff("T1", "H1", "2024-01-01"),
        staff("T2", "H1", "2024-01-01", digital_id=False),
        staff("T2", "X1", "2025-09-01", digital_id=False),  # moved off the closed roll
        staff("T3", "H2", "2024-01-01", "public_employee"),  # never moved
        staff("T4", "S1", "2024-01-01"),
        trained("T1", "basic_digital_skills", "2024-05-01"),
        trained("T3", "basic_digital_skills", "2025-10-01"),
        trained("T4", "data_analytics", "2025-02-01"),
        indicator("H1", "C17", "2025-01-10", 8, 10),
        indicator("X1", "C17", "2025-08-10", 5, 10),
        indicator("H2", "C06", "2025-01-10", 1, 1),
        indicator("S1", "C07", "2024-01-10", 1, 1),
        indicator("ENT", "E01", "2025-01-10", 1, 1),
        indicator("ENT", "E02", "2025-01-10", 1, 1),
    ]  # fmt: skip


def reform_province() -> list[CanonicalEvent]:
    return [*registry(), *activity()]
