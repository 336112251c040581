import re

from hanoismart.documents.pdf import NATIONAL_MOTTO, NATIONAL_NAME, render_pdf
from tests.documents.pdf_text import first_page_content, pdf_text


def _render(**overrides):
    arguments = {
        "title": "Giấy khai sinh",
        "subtitle": "Bản chính",
        "issuer": "UBND Phường Hoàn Kiếm",
        "fields": [("Họ và tên", "Nguyễn Thị Ánh Dương"), ("Quê quán", "Xã Đường Lâm, Hà Nội")],
        "paragraphs": ["Đã đăng ký khai sinh tại Ủy ban nhân dân phường."],
        "qr_payload": "https://hanoismart.example/verify/x/?d=A&p=1.001193",
        "footer": "Kiểm tra tại https://hanoismart.example/verify/",
    }
    return render_pdf(**(arguments | overrides))


def test_the_pdf_carries_the_vietnamese_text_with_its_diacritics():
    text = pdf_text(_render())

    assert NATIONAL_NAME in text
    assert NATIONAL_MOTTO in text
    assert "GIẤY KHAI SINH" in text
    assert "UBND PHƯỜNG HOÀN KIẾM" in text
    assert "Họ và tên:" in text
    assert "Nguyễn Thị Ánh Dương" in text
    assert "Xã Đường Lâm, Hà Nội" in text
    assert "Đã đăng ký khai sinh tại Ủy ban nhân dân phường." in text
    assert "?" not in text.replace("https://hanoismart.example/verify/", "")


def test_the_qr_code_sits_at_the_top_left():
    content = first_page_content(_render())

    # The only image: a 28 mm square, 15 mm from the left and top edges of an A4 page (841.89 pt high).
    assert re.findall(rb"q ([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) cm /I\d+ Do Q", content) == [
        (b"79.37", b"79.37", b"42.52", b"720.00")
    ]
