"""Reading back the text of the PDFs we render (fpdf2 writes two-byte glyph ids, mapped to Unicode by each
font's ToUnicode CMap), with pyHanko's reader: no PDF text library is a dependency."""

from __future__ import annotations

import io
import re

from pyhanko.pdf_utils.reader import PdfFileReader

_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_BFRANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_STRING = rb"\(((?:\\.|[^\\)])*)\)"
_TOKEN = re.compile(
    rb"/(F\d+)\s+[\d.]+\s+Tf|" + _STRING + rb"\s*Tj|\[((?:" + _STRING + rb"|[^\]])*)\]\s*TJ", re.S
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for start, end, target in _BFRANGE.findall(block):
            first = int(target, 16)
            for offset, code in enumerate(range(int(start, 16), int(end, 16) + 1)):
                mapping[code] = chr(first + offset)
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, target in _BFCHAR.findall(block):
            mapping[int(code, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    return mapping


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(raw):
        char = raw[index : index + 1]
        if char == b"\\":
            following = raw[index + 1 : index + 2]
            if following.isdigit():
                digits = re.match(rb"[0-7]{1,3}", raw[index + 1 :]).group(0)
                out.append(int(digits, 8))
                index += 1 + len(digits)
                continue
            out += _ESCAPES.get(following, following)
            index += 2
            continue
        out += char
        index += 1
    return bytes(out)


def first_page_content(pdf: bytes) -> bytes:
    """The decoded content stream of the first page."""
    page = PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Kids"][0]
    contents = page["/Contents"]
    return contents.data if hasattr(contents, "data") else b"".join(part.data for part in contents)


def pdf_text(pdf: bytes) -> str:
    """The text of every page, one shown string a line."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    lines: list[str] = []
    for page_number in range(len(reader.root["/Pages"]["/Kids"])):
        page = reader.root["/Pages"]["/Kids"][page_number]
        fonts = page["/Resources"]["/Font"]
        maps = {name.lstrip("/"): _cmap(fonts[name]["/ToUnicode"].data) for name in fonts}
        contents = page["/Contents"]
        data = contents.data if hasattr(contents, "data") else b"".join(part.data for part in contents)
        font = None
        for match in _TOKEN.finditer(data):
            if match.group(1):
                font = match.group(1).decode()
                continue
            if match.group(2) is not None:
                raw = _unescape(match.group(2))
            else:  # a TJ array (justified text): its strings, the spacing numbers between them dropped
                raw = b"".join(_unescape(part) for part in re.findall(_STRING, match.group(3), re.S))
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            lines.append("".join(maps.get(font, {}).get(code, "?") for code in codes))
    return "\n".join(lines)
