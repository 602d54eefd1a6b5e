"""Certificates: the verification code, the status anyone can check (valid / expired / revoked), the PDF.

The code is 12 random characters from Crockford's base32 alphabet (no I, L, O, U: nothing to misread when typed
from paper), printed in groups (``QH7K-4M9P-2XWD``); 60 bits, so codes cannot be guessed or enumerated through the
public ``/verify/{code}`` page. The PDF is drawn with fpdf2 (pure Python) and embeds a CJK font from the system
(Debian ``fonts-wqy-microhei``, installed by ``scripts/system-deps.sh``) or ``SIM_CJK_FONT`` — nothing is
downloaded at run time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from simulator.errors import SimulatorError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_CHARS = 12

# Fonts with Chinese glyphs, tried in order (file, index in a TrueType collection).
CJK_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)


class CertificateStatus(StrEnum):
    """What ``/verify`` says about a code."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


class FontMissing(SimulatorError):
    """No font with Chinese characters is installed, so the PDF cannot be drawn."""


def new_code() -> str:
    """A fresh verification code, e.g. ``QH7K-4M9P-2XWD``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(text: str) -> str:
    """A code as typed (lower case, spaces, O for 0, I/L for 1) in its canonical form; "" if it cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    raw = raw.translate(str.maketrans("OILU", "011V"))
    if len(raw) != CODE_CHARS or any(ch not in ALPHABET for ch in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def status_of(expires_at: datetime, revoked_at: datetime | None, now: datetime) -> CertificateStatus:
    """Revoked wins over expired; otherwise valid until the expiry instant."""
    if revoked_at is not None:
        return CertificateStatus.REVOKED
    return CertificateStatus.EXPIRED if now >= expires_at else CertificateStatus.VALID


@dataclass(frozen=True)
class CertificateText:
    """What a certificate says, in its language (the pages and the PDF print the same)."""

    heading: str
    holder_label: str
    holder: str
    exam: str
    shop: str
    score_label: str
    score: str
    issued_label: str
    issued: str
    expires_label: str
    expires: str
    code_label: str
    code: str
    verify_hint: str


def certificate_text(
    *,
    locale: str,
    holder: str,
    exam: str,
    shop: str,
    overall: float | None,
    issued_at: datetime,
    expires_at: datetime,
    code: str,
    verify_url: str,
) -> CertificateText:
    """The certificate's wording in the exam's language."""
    score = "—" if overall is None else f"{overall:.0f}"
    if locale.startswith("zh"):
        return CertificateText(
            "上岗认证证书",
            "持证人",
            holder,
            exam,
            shop,
            "综合成绩",
            score,
            "发证日期",
            issued_at.strftime("%Y-%m-%d"),
            "有效期至",
            expires_at.strftime("%Y-%m-%d"),
            "验证码",
            code,
            f"扫码或访问 {verify_url} 查验真伪",
        )
    return CertificateText(
        "Certificate of qualification",
        "Awarded to",
        holder,
        exam,
        shop,
        "Overall score",
        score,
        "Issued",
        issued_at.strftime("%Y-%m-%d"),
        "Valid until",
        expires_at.strftime("%Y-%m-%d"),
        "Verification code",
        code,
        f"Check it at {verify_url}",
    )


def find_cjk_font(configured: Path | None = None) -> tuple[Path, int]:
    """The font file (and collection index) to embed; raises :class:`FontMissing` naming how to install one."""
    if configured is not None:
        if configured.is_file():
            return configured, 0
        raise FontMissing(f"SIM_CJK_FONT points at {configured}, which does not exist — fix the path")
    for path, index in CJK_FONTS:
        if Path(path).is_file():
            return Path(path), index
    raise FontMissing(
        "no font with Chinese characters is installed, so the certificate PDF cannot be drawn — "
        "run `bash scripts/system-deps.sh` (Debian fonts-wqy-microhei) or set SIM_CJK_FONT to a .ttf/.ttc file; "
        "the printable certificate page works without it"
    )


def render_pdf(text: CertificateText, *, font: tuple[Path, int]) -> bytes:
    """The certificate as an A4 landscape PDF (fonts subset and embedded)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{text.heading} {text.code}")
    pdf.set_author(text.shop or "CS Simulator")
    pdf.add_page()
    path, index = font
    pdf.add_font("cjk", "", str(path), collection_font_number=index)
    w, h = 297, 210
    # Frame
    pdf.set_draw_color(180, 83, 9)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, w - 20, h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, w - 28, h - 28)

    def line(y: float, size: float, value: str, *, color: tuple[int, int, int] = (31, 41, 55)) -> None:
        pdf.set_text_color(*color)
        pdf.set_font("cjk", size=size)
        pdf.set_xy(20, y)
        pdf.cell(w - 40, size * 0.5, value, align="C")

    line(40, 30, text.heading, color=(180, 83, 9))
    line(70, 12, text.holder_label, color=(107, 114, 128))
    line(80, 26, text.holder)
    line(102, 16, text.exam)
    rows = [
        (text.score_label, text.score),
        (text.issued_label, text.issued),
        (text.expires_label, text.expires),
        (text.code_label, text.code),
    ]
    col = (w - 40) / len(rows)
    for i, (label, value) in enumerate(rows):
        pdf.set_text_color(107, 114, 128)
        pdf.set_font("cjk", size=10)
        pdf.set_xy(20 + i * col, 128)
        pdf.cell(col, 6, label, align="C")
        pdf.set_text_color(31, 41, 55)
        pdf.set_font("cjk", size=15)
        pdf.set_xy(20 + i * col, 136)
        pdf.cell(col, 8, value, align="C")
    line(172, 10, text.verify_hint, color=(107, 114, 128))
    return bytes(pdf.output())
