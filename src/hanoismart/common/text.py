"""Text folding for search that ignores Vietnamese diacritics ("hoan kiem" finds "Phường Hoàn Kiếm")."""

from unidecode import unidecode


def fold(text: str) -> str:
    """Lower-case ASCII form of ``text``: đ→d, ế→e, spaces collapsed."""
    return " ".join(unidecode(text or "").lower().split())
