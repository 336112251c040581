"""The made-up people of the demo (read by ``seeds.py``): name parts, the staff roster and organisations.

Every demo account signs in with ``DEMO_PASSWORD``; every staff account also has a confirmed authenticator
(TOTP) device sharing ``DEMO_TOTP_SECRET``. Staff sign in with their mobile number ``09000000NN`` (NN being
their line in ``STAFF`` below, from 01) or their national ID number, which ends in ``9000NN``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "hanoi-demo-2026"  # noqa: S105 - the published demo password
# Base32 of "HanoiSmart demo 2026" (160 bits: authenticator apps and pyotp refuse secrets under 112 bits).
DEMO_TOTP_SECRET = "JBQW433JKNWWC4TUEBSGK3LPEAZDAMRW"  # noqa: S105 - published so anyone can try the staff screens
RANDOM_SEED = 2026

# The demo's apps (OpenID Connect clients). The agency's secret is published so `make run` can print it.
DEMO_APP_CLIENT_ID = "demo-city-app"
DEMO_APP_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEMO_APP_POST_LOGOUT_URI = "http://127.0.0.1:8765/"
DEMO_APP_SCOPES = (
    # (scope, purpose, optional)
    ("openid", "To recognise you when you come back to the app.", False),
    ("profile", "To address you by name and check you are an adult for some services.", False),
    ("phone", "To send you reminders about your appointments by SMS.", True),
    ("address", "To show the services and news of your ward or commune.", True),
    ("dossiers.read", "To show the progress of your dossiers in the app.", True),
    ("dossiers.write", "To let you submit dossiers from the app.", True),
    ("documents.read", "To attach papers from your document store to a dossier.", True),
)
DEMO_AGENCY_CLIENT_ID = "demo-agency"
DEMO_AGENCY_CLIENT_SECRET = "demo-agency-secret-hanoi-2026-not-for-production"  # noqa: S105 - published demo secret
DEMO_AGENCY_SCOPES = (
    ("dossiers.read", "To read dossiers handled for the agency.", False),
    ("documents.read", "To verify papers residents present to the agency.", False),
    ("introspection", "To check tokens that residents' apps present to the agency's API.", False),
)

RESIDENT_COUNT = 200  # accounts, the demo resident included
REGISTRY_ONLY_COUNT = 40  # people in the population registry without an account yet, to try registering
ORGANISATION_COUNT = 20


@dataclass(frozen=True)
class DemoResident:
    national_id: str
    full_name: str
    birth_date: tuple[int, int, int]
    phone: str
    ward_code: str


DEMO_RESIDENT = DemoResident(
    national_id="001099000001",
    full_name="Nguyễn Văn An",
    birth_date=(1999, 3, 14),
    phone="0912000001",
    ward_code="00070",
)
# Someone in the registry without an account: register with this number to try verification.
DEMO_NEWCOMER = DemoResident(
    national_id="001302000002",
    full_name="Trần Thị Bích Ngọc",
    birth_date=(2002, 9, 2),
    phone="0912000002",
    ward_code="00004",
)

# Family names with rough weights (Nguyễn is about a third of the country).
FAMILY_NAMES = {
    "Nguyễn": 32,
    "Trần": 11,
    "Lê": 9,
    "Phạm": 7,
    "Hoàng": 5,
    "Vũ": 4,
    "Đặng": 3,
    "Bùi": 3,
    "Đỗ": 3,
    "Hồ": 2,
    "Ngô": 2,
    "Dương": 2,
    "Lý": 1,
    "Phan": 2,
    "Đinh": 1,
    "Trịnh": 1,
    "Lương": 1,
    "Mai": 1,
}
MIDDLE_NAMES = {
    "male": ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Tuấn", "Ngọc", "Xuân", "Công", "Mạnh", "Gia"],
    "female": ["Thị", "Thu", "Ngọc", "Thanh", "Minh", "Phương", "Hồng", "Mai", "Kim", "Diệu", "Bảo", "Khánh"],
}
GIVEN_NAMES = {
    "male": [
        "An", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khánh", "Khoa",
        "Kiên", "Long", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Thắng", "Thành",
        "Trung", "Tùng", "Tuấn", "Việt", "Vinh",
    ],
    "female": [
        "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai",
        "My", "Nga", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Vân", "Yến",
    ],
}  # fmt: skip
# Birth provinces printed in CCCD numbers: mostly Hà Nội, then the provinces people most often move from.
BIRTH_PROVINCES = {
    "001": 70,
    "030": 4,
    "034": 4,
    "036": 4,
    "038": 4,
    "040": 4,
    "027": 3,
    "022": 3,
    "031": 2,
    "079": 2,
}
# Mobile prefixes of Viettel, VinaPhone, MobiFone and Vietnamobile.
MOBILE_PREFIXES = [
    "032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079",
    "081", "082", "083", "084", "085", "086", "088", "091", "094", "096", "097", "098", "056", "058",
]  # fmt: skip
# (assurance level, weight): most demo residents are verified with their face (level 2), as VNeID users are.
ASSURANCE_LEVELS = [(2, 75), (1, 15), (0, 10)]
# Units that have staff in the demo, so their residents are more numerous (share of residents living there).
STAFFED_UNIT_CODES = ("00070", "00004", "00073", "00583")
STAFFED_UNIT_SHARE = 0.4

# Agencies are named by the ward/commune they serve ("ward:CODE", its People's Committee) or by their
# electronic code (directory/data/agencies_01.json).
VAN_PHONG = "000.00.01.H26"  # Văn phòng UBND Thành phố
SO_XAY_DUNG = "000.00.04.H26"
SO_TU_PHAP = "000.00.13.H26"


@dataclass(frozen=True)
class DemoStaff:
    full_name: str
    sex: str
    birth_year: int
    role: str
    agency: str
    title: str


STAFF = [
    # Phường Hoàn Kiếm
    DemoStaff("Trần Thị Mai", "female", 1990, "clerk", "ward:00070", "Công chức Bộ phận một cửa"),
    DemoStaff("Phạm Quang Huy", "male", 1993, "clerk", "ward:00070", "Công chức Bộ phận một cửa"),
    DemoStaff("Đỗ Thu Hằng", "female", 1996, "clerk", "ward:00070", "Công chức Bộ phận một cửa"),
    DemoStaff("Lê Văn Hùng", "male", 1985, "officer", "ward:00070", "Công chức Tư pháp - Hộ tịch"),
    DemoStaff("Vũ Thị Hạnh", "female", 1988, "officer", "ward:00070", "Công chức Địa chính - Xây dựng"),
    DemoStaff("Nguyễn Đức Thắng", "male", 1975, "leader", "ward:00070", "Phó Chủ tịch UBND phường"),
    DemoStaff("Bùi Thanh Tâm", "female", 1991, "reporter", "ward:00070", "Công chức Văn phòng - Thống kê"),
    # Phường Ba Đình
    DemoStaff("Hoàng Thị Lan", "female", 1992, "clerk", "ward:00004", "Công chức Bộ phận một cửa"),
    DemoStaff("Ngô Minh Tuấn", "male", 1994, "clerk", "ward:00004", "Công chức Bộ phận một cửa"),
    DemoStaff("Đặng Văn Long", "male", 1983, "officer", "ward:00004", "Công chức Tư pháp - Hộ tịch"),
    DemoStaff("Nguyễn Thị Thu Hà", "female", 1978, "leader", "ward:00004", "Phó Chủ tịch UBND phường"),
    DemoStaff("Dương Quang Vinh", "male", 1990, "reporter", "ward:00004", "Công chức Văn phòng - Thống kê"),
    # Phường Cửa Nam
    DemoStaff("Lý Thị Hoa", "female", 1995, "clerk", "ward:00073", "Công chức Bộ phận một cửa"),
    DemoStaff("Phan Văn Nam", "male", 1989, "clerk", "ward:00073", "Công chức Bộ phận một cửa"),
    DemoStaff("Trịnh Thị Ngọc", "female", 1987, "officer", "ward:00073", "Công chức Văn hóa - Xã hội"),
    DemoStaff("Hồ Đức Minh", "male", 1976, "leader", "ward:00073", "Phó Chủ tịch UBND phường"),
    DemoStaff("Mai Thị Quỳnh", "female", 1993, "reporter", "ward:00073", "Công chức Văn phòng - Thống kê"),
    # Xã Bát Tràng
    DemoStaff("Nguyễn Văn Sơn", "male", 1986, "clerk", "ward:00583", "Công chức Bộ phận một cửa"),
    DemoStaff("Lê Thị Nhung", "female", 1984, "officer", "ward:00583", "Công chức Địa chính - Nông nghiệp"),
    DemoStaff("Phạm Văn Cường", "male", 1972, "leader", "ward:00583", "Chủ tịch UBND xã"),
    DemoStaff("Đinh Thị Yến", "female", 1997, "reporter", "ward:00583", "Công chức Văn phòng - Thống kê"),
    # Sở Tư pháp
    DemoStaff("Trần Minh Khoa", "male", 1991, "clerk", SO_TU_PHAP, "Chuyên viên tiếp nhận hồ sơ"),
    DemoStaff("Vũ Thị Phương", "female", 1986, "officer", SO_TU_PHAP, "Chuyên viên Phòng Hành chính tư pháp"),
    DemoStaff("Nguyễn Hữu Nghĩa", "male", 1982, "officer", SO_TU_PHAP, "Chuyên viên Phòng Bổ trợ tư pháp"),
    DemoStaff("Lương Thị Vân", "female", 1973, "leader", SO_TU_PHAP, "Phó Giám đốc Sở"),
    DemoStaff("Bùi Gia Bình", "male", 1994, "reporter", SO_TU_PHAP, "Chuyên viên Văn phòng Sở"),
    # Sở Xây dựng
    DemoStaff("Hoàng Văn Dũng", "male", 1990, "clerk", SO_XAY_DUNG, "Chuyên viên tiếp nhận hồ sơ"),
    DemoStaff("Đỗ Thị Thảo", "female", 1985, "officer", SO_XAY_DUNG, "Chuyên viên Phòng Cấp phép xây dựng"),
    DemoStaff("Phạm Quang Trung", "male", 1970, "leader", SO_XAY_DUNG, "Phó Giám đốc Sở"),
    # Văn phòng UBND Thành phố: the Intelligent Operations Center and the platform's operator
    DemoStaff(
        "Nguyễn Thị Thanh Hương", "female", 1980, "manager", VAN_PHONG, "Phó Chánh Văn phòng, Trung tâm IOC"
    ),
    DemoStaff("Trần Quốc Việt", "male", 1979, "manager", VAN_PHONG, "Trưởng phòng Điều hành, Trung tâm IOC"),
    DemoStaff("Lê Minh Phúc", "male", 1988, "operator", VAN_PHONG, "Quản trị hệ thống HanoiSmart"),
]

# Organisations: (name, kind). Tax codes are generated with valid check digits; representatives are residents.
ORGANISATIONS = [
    ("Công ty TNHH Gốm Sứ Bát Tràng Xưa", "enterprise"),
    ("Công ty Cổ phần Du lịch Hồ Gươm", "enterprise"),
    ("Công ty TNHH Phần mềm Sông Hồng", "enterprise"),
    ("Công ty Cổ phần Xây dựng Thăng Long", "enterprise"),
    ("Công ty TNHH Thực phẩm Sạch Tràng An", "enterprise"),
    ("Công ty Cổ phần Vận tải Long Biên", "enterprise"),
    ("Công ty TNHH Kiến trúc Phố Cổ", "enterprise"),
    ("Công ty TNHH Thương mại Hàng Đào", "enterprise"),
    ("Công ty Cổ phần Công nghệ Tây Hồ", "enterprise"),
    ("Công ty TNHH Dịch vụ Kế toán Ba Đình", "enterprise"),
    ("Công ty TNHH Sách và Văn phòng phẩm Tràng Tiền", "enterprise"),
    ("Công ty Cổ phần Môi trường Xanh Hà Nội", "enterprise"),
    ("Hộ kinh doanh Phở Gia Truyền Bát Đàn", "household_business"),
    ("Hộ kinh doanh Bánh Cuốn Thanh Vân", "household_business"),
    ("Hộ kinh doanh Cà Phê Giảng Phố", "household_business"),
    ("Hộ kinh doanh Lụa Hàng Gai", "household_business"),
    ("Hợp tác xã Gốm Bát Tràng", "cooperative"),
    ("Hợp tác xã Rau An Toàn Văn Đức", "cooperative"),
    ("Hội Doanh nghiệp Trẻ Phường Hoàn Kiếm", "association"),
    ("Hội Làng nghề Gốm Sứ Bát Tràng", "association"),
]
STREETS = [
    "Hàng Bạc", "Hàng Đào", "Hàng Gai", "Tràng Tiền", "Lý Thái Tổ", "Đinh Tiên Hoàng", "Điện Biên Phủ",
    "Kim Mã", "Đội Cấn", "Nguyễn Thái Học", "Phan Đình Phùng", "Hoàng Diệu", "Lê Duẩn", "Trần Hưng Đạo",
    "Quang Trung", "Bà Triệu", "Giang Văn Minh", "Liễu Giai",
]  # fmt: skip
