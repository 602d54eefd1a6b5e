"""The interface catalogues: complete, compiled, and in step with the templates and code."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parent.parent / "web"
LOCALE = WEB / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "tr": (2,)}


def _extracted() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ids: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(WEB), method_map=method_map, options_map=options, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _po(lang: str):  # type: ignore[no-untyped-def]
    with open(LOCALE / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_every_string_in_the_code_is_in_the_catalogues() -> None:
    used = _extracted()
    assert len(used) > 100
    for lang in ("zh_CN", "en"):
        known = {m.id for m in _po(lang) if m.id}
        missing = sorted(used - known)
        assert not missing, f"{lang}: run the extract/update commands in docs/web.md; missing {missing[:5]}"


def test_chinese_is_complete() -> None:
    untranslated = [m.id for m in _po("zh_CN") if m.id and not m.string]
    assert not untranslated, untranslated[:5]


def test_compiled_catalogue_matches_the_po() -> None:
    """The committed .mo (what the app loads) must be compiled from the current .po."""
    po = {m.id: m.string for m in _po("zh_CN") if m.id and m.string}
    with open(LOCALE / "zh_CN" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(io.BytesIO(f.read())) if m.id}
    assert mo == po, "run: .venv/bin/pybabel compile -d web/locale -D messages"


def test_placeholders_survive_translation() -> None:
    import re

    for m in _po("zh_CN"):
        if m.id and m.string:
            assert sorted(re.findall(r"%\(\w+\)s", m.id)) == sorted(re.findall(r"%\(\w+\)s", m.string)), m.id
