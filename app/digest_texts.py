"""What the progress digest mail says, in plain text and HTML: numbers and titles only.

Its input (`DocumentMoves`) holds no word of any document's text by construction: it is built
from kept figures (`app.digests`). Every title and name is escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape


@dataclass(frozen=True, slots=True)
class DocumentMoves:
    """What moved in one document since the member's previous digest."""

    title: str
    first: bool  # no previous digest told of this document
    words: int | None  # as last counted; None if never counted
    words_change: int | None  # None on a first digest or without two counts
    sections_total: int
    sections_done: int
    newly_done: list[str]
    late: list[str]
    stalled: list[str]
    at_risk: list[str]
    flags: list[str]
    new_members: list[str] = field(default_factory=list)


def _words(moves: DocumentMoves) -> str:
    if moves.words is None:
        return "words not counted yet"
    if moves.words_change is None:
        return f"{moves.words} words"
    return f"{moves.words} words ({moves.words_change:+d})"


def _lines(moves: DocumentMoves) -> list[tuple[str, list[str]]]:
    """Each line of a document's part: a heading and the titles or names it lists."""
    lines: list[tuple[str, list[str]]] = [
        (f"{_words(moves)}; {moves.sections_done} of {moves.sections_total} sections done",
         [])]
    if moves.newly_done:
        lines.append((f"Sections done since the last digest: {len(moves.newly_done)}",
                      moves.newly_done))
    for label, titles in (("Late", moves.late), ("Stalled", moves.stalled),
                          ("At risk", moves.at_risk)):
        if titles:
            lines.append((f"{label} sections: {len(titles)}", titles))
    if moves.flags:
        lines.append((f"Flags: {', '.join(moves.flags)}", []))
    if moves.new_members:
        lines.append((f"New members: {len(moves.new_members)}", moves.new_members))
    return lines


def digest(*, name: str, frequency: str, documents: list[DocumentMoves],
           link: str) -> tuple[str, str, str]:
    """Subject, plain text and HTML of one member's digest."""
    subject = f"Your {frequency} progress digest from Widen: {len(documents)} " \
              f"document{'s' if len(documents) != 1 else ''} moved"
    text = [f"Hello {name},", "", "What moved since your last digest:", ""]
    html = [f"<p>Hello {escape(name)},</p>", "<p>What moved since your last digest:</p>"]
    for moves in documents:
        heading = f"“{moves.title}”" + (" (first digest)" if moves.first else "")
        text.append(heading)
        html.append(f"<h3>{escape(heading)}</h3><ul>")
        for line, items in _lines(moves):
            text.append(f"  {line}")
            text.extend(f"    - {item}" for item in items)
            html.append(f"<li>{escape(line)}")
            if items:
                html.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items)
                            + "</ul>")
            html.append("</li>")
        text.append("")
        html.append("</ul>")
    text += ["Your dashboard:", link, "",
             "You can change how often this comes, or stop it, on your dashboard."]
    html.append(f'<p><a href="{escape(link, quote=True)}">Open your dashboard</a></p>'
                "<p>You can change how often this comes, or stop it, on your dashboard.</p>")
    return subject, "\n".join(text), "\n".join(html)
