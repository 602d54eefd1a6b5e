"""Knowledge passages as HTML: Markdown rendered by markdown-it-py, then sanitised by nh3 (Ammonia).

Knowledge documents are Markdown written by trainers — size charts are tables, key facts are ``**bold**`` —
so a passage is shown rendered, never as raw pipes and asterisks. Two walls stand between a document and the
page, so a mistake in one is caught by the other:

1. markdown-it-py with raw HTML **off**: ``<script>``, ``<img onerror=…>`` or any other tag an author (or
   an attacker who got a file into ``knowledge/``) writes is shown as text, not parsed; its link validator
   drops ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` link targets.
2. nh3 keeps only the tags Markdown produces for text, lists and tables, only ``href``/``title`` on links
   and ``start`` on lists — no ``style`` (markdown-it puts column alignment there), no event handlers, no
   ``id`` — and only ``http``, ``https`` and ``mailto`` URLs.

What happens to the two things that reach outside the page:

- **Images** are never shown: a passage renders an image as its alt text. A remote image would let a
  document's author see who reads it and when (and the Content-Security-Policy blocks it anyway); a
  ``data:`` image is a way to smuggle arbitrarily large content into every search result; and a local image
  would need the knowledge folder served, which nothing else needs. The alt text keeps the meaning.
- **Links** to other sites stay clickable — a policy page may point at the platform's rules — but open in a
  new tab (a trainee must not lose the chat they are in) with ``rel="noopener noreferrer nofollow"``: the new
  page cannot reach back into ours, learns nothing about the page it came from, and gets no ranking from us.
  Relative links are dropped (the text stays): they point into the knowledge folder, which is not served.

Tables are wrapped in ``<div class="table-scroll">`` so a wide size chart scrolls sideways inside the
passage on a phone instead of the whole page.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

TAGS = {
    "p", "br", "hr", "strong", "em", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
    "a", "div", "span",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
CLASSES = {"div": {"table-scroll"}, "span": {"img-alt"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def _image_as_alt_text(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
    return f'<span class="img-alt">{escape(alt)}</span>' if alt.strip() else ""


def _is_absolute(href: str) -> bool:
    return href.lower().startswith(("http://", "https://", "mailto:"))


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    if _is_absolute(str(tokens[idx].attrGet("href") or "")):
        return self.renderToken(tokens, idx, options, env)
    # A relative link points into the knowledge folder, which is not served: keep its text, drop the link.
    depth = 0
    for token in tokens[idx + 1 :]:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            if depth == 0:
                token.meta["dropped"] = True
                break
            depth -= 1
    return ""


def _link_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return "" if tokens[idx].meta.get("dropped") else self.renderToken(tokens, idx, options, env)


def _table_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return '<div class="table-scroll">' + self.renderToken(tokens, idx, options, env)


def _table_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>"


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_alt_text)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


_MD = _markdown()


def sanitise(html: str) -> str:
    """Keep only the tags, attributes and URLs a passage needs (see the module's docstring)."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes=URL_SCHEMES,
        url_relative="deny",
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


@lru_cache(maxsize=2048)
def _render(text: str) -> str:
    return sanitise(_MD.render(text))


def passage_html(text: Any) -> Markup:
    """A knowledge passage's Markdown as safe HTML, for the ``passage`` template filter.

    The same passages come back search after search (the size charts most of all), so rendered passages are
    cached by their text.
    """
    if not text:
        return Markup("")
    return Markup(_render(str(text)))
