"""A document as one complete, self-contained HTML page.

Every character of text, title and comment is escaped, and a link keeps its address only if
it is an absolute http, https or mailto URL (what the editor follows, `linkHref` in
`frontend/src/editor/schema.ts`): a member's text can never become markup or script in the
page of whoever opens the file.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from app.formats.blocks import (
    Block,
    BulletList,
    CodeBlock,
    HardBreak,
    Heading,
    Inline,
    OrderedList,
    Paragraph,
    Quote,
    Rule,
    merged,
    sorted_marks,
)
from app.formats.notes import ExportSection, comment_line

_TAGS = {"strong": "strong", "em": "em", "code": "code"}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
          "line-height:1.5}pre{background:#f4f4f4;padding:.75rem;overflow:auto}"
          "blockquote{border-left:3px solid #ccc;margin-left:0;padding-left:1rem;color:#444}"
          ".comments{font-size:.9em;color:#555}")


def safe_href(href: str | None) -> str | None:
    if not href:
        return None
    try:
        scheme = urlsplit(href.strip()).scheme.lower()
    except ValueError:
        return None
    return href.strip() if scheme in ("http", "https", "mailto") else None


def document_html(title: str, sections: list[ExportSection]) -> str:
    body = [f"<h1>{escape(title)}</h1>"]
    for section in sections:
        body.append(f"<section>\n<h2>{escape(section.title)}</h2>")
        body.extend(_block(b, heading_shift=2) for b in section.blocks)
        if section.comments:
            body.append('<aside class="comments"><h3>Comments</h3><ul>')
            body.extend(f"<li>{escape(comment_line(n))}</li>" for n in section.comments)
            body.append("</ul></aside>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _block(block: Block, heading_shift: int) -> str:
    """Bounded recursion: blocks nest at most `MAX_NESTING` deep."""
    if isinstance(block, Paragraph):
        return f"<p>{_inlines(block.inlines)}</p>"
    if isinstance(block, Heading):
        level = min(6, block.level + heading_shift)
        return f"<h{level}>{_inlines(block.inlines)}</h{level}>"
    if isinstance(block, CodeBlock):
        return f"<pre><code>{escape(block.text)}</code></pre>"
    if isinstance(block, Rule):
        return "<hr>"
    if isinstance(block, Quote):
        inner = "\n".join(_block(b, heading_shift) for b in block.blocks)
        return f"<blockquote>\n{inner}\n</blockquote>"
    items = "\n".join(
        "<li>" + "\n".join(_block(b, heading_shift) for b in item.blocks) + "</li>"
        for item in block.items)
    if isinstance(block, BulletList):
        return f"<ul>\n{items}\n</ul>"
    start = f' start="{block.start}"' if isinstance(block, OrderedList) and block.start != 1 else ""
    return f"<ol{start}>\n{items}\n</ol>"


def _inlines(inlines: list[Inline]) -> str:
    out = []
    for inline in merged(inlines):
        if isinstance(inline, HardBreak):
            out.append("<br>")
            continue
        html = escape(inline.text).replace("\n", "<br>")
        for mark in reversed(sorted_marks(inline.marks)):
            if mark.kind == "link":
                href = safe_href(mark.href)
                if href is not None:
                    title = f' title="{escape(mark.title)}"' if mark.title else ""
                    html = f'<a href="{escape(href)}"{title}>{html}</a>'
            else:
                html = f"<{_TAGS[mark.kind]}>{html}</{_TAGS[mark.kind]}>"
        out.append(html)
    return "".join(out)
