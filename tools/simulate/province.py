"""Facts of the simulated merged Tuyên Quang province that no package holds: its provincial
departments and their 2025 changes, the pre-2025 districts of both former provinces with
their seats, emulation blocks and a few fictional enterprises.

Seats (successor of each district on 2025-07-01): the post-reform commune/ward that kept the
GSO code of the district's seat township (thị trấn) — e.g. Huyện Quản Bạ's seat Thị trấn
Tam Sơn (00874) is in Xã Quản Bạ (00874). Two exceptions, both Hà Giang's: Thị trấn Cốc Pài
(01096, Xín Mần) kept no code, so its successor is Xã Xín Mần (01108), the commune named after
the district; Thành phố Hà Giang had no township and its wards became Phường Hà Giang 1
(00694, the code of Phường Nguyễn Trãi) and Hà Giang 2 (00691, Phường Trần Phú): we name
Hà Giang 1 its successor — a modelling choice, the reform gives a city no single heir.
GSO district codes of Hà Giang are 024 and 026–035 (025 is unused).
"""

from __future__ import annotations

from datetime import date

DEPARTMENT_REFORM_DAY = date(2025, 3, 1)  # the provincial departments' merger
REFORM_DAY = date(2025, 7, 1)  # the provinces' merger; districts abolished

AGENCY_BLOCK_GENERAL = "Khối các cơ quan tổng hợp, nội chính"
AGENCY_BLOCK_ECONOMY = "Khối các cơ quan kinh tế, kỹ thuật"
AGENCY_BLOCK_SOCIAL = "Khối các cơ quan văn hóa, xã hội"
DISTRICT_BLOCK_TUYEN_QUANG = "Khối các huyện, thành phố tỉnh Tuyên Quang (trước 01/7/2025)"
DISTRICT_BLOCK_HA_GIANG = "Khối các huyện, thành phố tỉnh Hà Giang (trước 01/7/2025)"
ENTERPRISE_BLOCK = "Khối doanh nghiệp, hợp tác xã"

# (slug, name before 2025-03-01, block, name from 2025-03-01 if renamed).
# The order fixes each department's OrganId: append, never reorder.
AGENCIES: tuple[tuple[str, str, str, str | None], ...] = (
    ("vp-ubnd", "Văn phòng UBND tỉnh", AGENCY_BLOCK_GENERAL, None),
    ("so-noi-vu", "Sở Nội vụ", AGENCY_BLOCK_GENERAL, None),
    ("so-tai-chinh", "Sở Tài chính", AGENCY_BLOCK_GENERAL, None),
    ("so-tu-phap", "Sở Tư pháp", AGENCY_BLOCK_GENERAL, None),
    ("thanh-tra", "Thanh tra tỉnh", AGENCY_BLOCK_GENERAL, None),
    ("so-dan-toc-ton-giao", "Ban Dân tộc", AGENCY_BLOCK_GENERAL, "Sở Dân tộc và Tôn giáo"),
    ("so-khcn", "Sở Khoa học và Công nghệ", AGENCY_BLOCK_ECONOMY, None),
    ("so-xay-dung", "Sở Xây dựng", AGENCY_BLOCK_ECONOMY, None),
    (
        "so-nnmt",
        "Sở Nông nghiệp và Phát triển nông thôn",
        AGENCY_BLOCK_ECONOMY,
        "Sở Nông nghiệp và Môi trường",
    ),
    ("so-cong-thuong", "Sở Công Thương", AGENCY_BLOCK_ECONOMY, None),
    ("bql-kcn", "Ban Quản lý các khu công nghiệp", AGENCY_BLOCK_ECONOMY, None),
    ("so-y-te", "Sở Y tế", AGENCY_BLOCK_SOCIAL, None),
    ("so-gddt", "Sở Giáo dục và Đào tạo", AGENCY_BLOCK_SOCIAL, None),
    ("so-vhttdl", "Sở Văn hóa, Thể thao và Du lịch", AGENCY_BLOCK_SOCIAL, None),
)

# Departments merged away on 2025-03-01: (slug, name, block, slug of the successor).
MERGED_AGENCIES: tuple[tuple[str, str, str, str], ...] = (
    ("so-tttt", "Sở Thông tin và Truyền thông", AGENCY_BLOCK_ECONOMY, "so-khcn"),
    ("so-khdt", "Sở Kế hoạch và Đầu tư", AGENCY_BLOCK_GENERAL, "so-tai-chinh"),
    ("so-ldtbxh", "Sở Lao động - Thương binh và Xã hội", AGENCY_BLOCK_SOCIAL, "so-noi-vu"),
    ("so-gtvt", "Sở Giao thông vận tải", AGENCY_BLOCK_ECONOMY, "so-xay-dung"),
    ("so-tnmt", "Sở Tài nguyên và Môi trường", AGENCY_BLOCK_ECONOMY, "so-nnmt"),
)

# (GSO district code, name, ward code of the seat's commune after the reform, block)
DISTRICTS: tuple[tuple[int, str, int, str], ...] = (
    (24, "UBND thành phố Hà Giang", 694, DISTRICT_BLOCK_HA_GIANG),  # Phường Hà Giang 1
    (26, "UBND huyện Đồng Văn", 721, DISTRICT_BLOCK_HA_GIANG),  # TT Đồng Văn
    (27, "UBND huyện Mèo Vạc", 769, DISTRICT_BLOCK_HA_GIANG),  # TT Mèo Vạc
    (28, "UBND huyện Yên Minh", 820, DISTRICT_BLOCK_HA_GIANG),  # TT Yên Minh
    (29, "UBND huyện Quản Bạ", 874, DISTRICT_BLOCK_HA_GIANG),  # TT Tam Sơn
    (30, "UBND huyện Vị Xuyên", 913, DISTRICT_BLOCK_HA_GIANG),  # TT Vị Xuyên
    (31, "UBND huyện Bắc Mê", 991, DISTRICT_BLOCK_HA_GIANG),  # TT Yên Phú
    (32, "UBND huyện Hoàng Su Phì", 1021, DISTRICT_BLOCK_HA_GIANG),  # TT Vinh Quang
    (33, "UBND huyện Xín Mần", 1108, DISTRICT_BLOCK_HA_GIANG),  # TT Cốc Pài → Xã Xín Mần
    (34, "UBND huyện Bắc Quang", 1153, DISTRICT_BLOCK_HA_GIANG),  # TT Việt Quang
    (35, "UBND huyện Quang Bình", 1237, DISTRICT_BLOCK_HA_GIANG),  # TT Yên Bình
    (70, "UBND thành phố Tuyên Quang", 2215, DISTRICT_BLOCK_TUYEN_QUANG),  # Phường Minh Xuân
    (71, "UBND huyện Lâm Bình", 2266, DISTRICT_BLOCK_TUYEN_QUANG),
    (72, "UBND huyện Na Hang", 2221, DISTRICT_BLOCK_TUYEN_QUANG),
    (73, "UBND huyện Chiêm Hóa", 2287, DISTRICT_BLOCK_TUYEN_QUANG),
    (74, "UBND huyện Hàm Yên", 2374, DISTRICT_BLOCK_TUYEN_QUANG),
    (75, "UBND huyện Yên Sơn", 2473, DISTRICT_BLOCK_TUYEN_QUANG),
    (76, "UBND huyện Sơn Dương", 2536, DISTRICT_BLOCK_TUYEN_QUANG),
)
HA_GIANG_DISTRICTS = frozenset(gso for gso, *_ in DISTRICTS if gso < 70)

# Simulated enterprises and cooperatives (fictional names).
ENTERPRISES: tuple[tuple[str, str], ...] = (
    ("cntt-tan-trao", "Công ty Cổ phần Công nghệ số Tân Trào"),
    ("phan-mem-song-lo", "Công ty TNHH Phần mềm Sông Lô"),
    ("du-lich-so-dong-van", "Công ty TNHH Du lịch số Cao nguyên đá Đồng Văn"),
    ("htx-che-na-hang", "Hợp tác xã Chè Shan tuyết Na Hang"),
    ("htx-cam-ham-yen", "Hợp tác xã Cam sành Hàm Yên"),
    ("vien-thong-ha-giang", "Công ty Cổ phần Dịch vụ viễn thông Hà Giang"),
)

# Ward-code ranges (pre-2025 districts) → regional commune blocks.
COMMUNE_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0, 711, "Khối xã, phường số 1 (Hà Giang, Vị Xuyên, Bắc Mê)"),
    (712, 912, "Khối xã số 2 (Đồng Văn, Mèo Vạc, Yên Minh, Quản Bạ)"),
    (913, 1015, "Khối xã, phường số 1 (Hà Giang, Vị Xuyên, Bắc Mê)"),
    (1016, 1150, "Khối xã số 3 (Hoàng Su Phì, Xín Mần)"),
    (1151, 1999, "Khối xã số 4 (Bắc Quang, Quang Bình)"),
    (2000, 2220, "Khối xã, phường số 5 (Tuyên Quang, Yên Sơn, Sơn Dương)"),
    (2221, 2418, "Khối xã số 6 (Na Hang, Lâm Bình, Chiêm Hóa, Hàm Yên)"),
    (2419, 9999, "Khối xã, phường số 5 (Tuyên Quang, Yên Sơn, Sơn Dương)"),
)


def commune_block(ward_code: int) -> str:
    for low, high, block in COMMUNE_BLOCKS:
        if low <= ward_code <= high:
            return block
    raise ValueError(f"no block for ward code {ward_code}")
