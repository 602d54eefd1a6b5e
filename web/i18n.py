"""Interface language: Babel catalogues (``web/locale``), zh-CN by default, English switchable.

Message ids are English; ``zh_CN`` translates them, ``en`` is the identity. The compiled ``.mo`` files are
committed so a fresh clone works without a build step (a test fails when a ``.po`` is newer than its ``.mo``).
The current language lives in a context variable set once per request, so templates and Python code share
one ``gettext``.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT = "zh-CN"

_current: ContextVar[str] = ContextVar("sim_locale", default=DEFAULT)


class Catalogues:
    """The loaded translations for every supported language."""

    def __init__(self, locale_dir: Path = LOCALE_DIR):
        self._tr: dict[str, NullTranslations] = {}
        for code in LANGUAGES:
            babel_code = code.replace("-", "_")
            tr = Translations.load(str(locale_dir), locales=[babel_code], domain="messages")
            self._tr[code] = tr

    def gettext(self, message: str) -> str:
        """Translate into the current request's language."""
        return self._tr[_current.get()].gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Plural-aware translation into the current request's language."""
        return self._tr[_current.get()].ngettext(singular, plural, n)

    def has(self, code: str) -> bool:
        """True when ``code`` (zh-CN, en) is supported and its catalogue loaded (not the fallback)."""
        return code in self._tr and (code == "en" or type(self._tr[code]) is Translations)


def set_locale(code: str | None) -> str:
    """Make ``code`` the current language (unknown codes fall back to the default); returns the one used."""
    chosen = code if code in LANGUAGES else DEFAULT
    _current.set(chosen)
    return chosen


def current_locale() -> str:
    """The current request's language code (zh-CN or en)."""
    return _current.get()
