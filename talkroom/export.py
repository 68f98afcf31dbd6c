"""A conversation for someone else: a clean Markdown transcript, or one self-contained HTML
page with the resolution at the top and the timeline of moderator actions and receipts.

Bodies are untrusted: terminal controls are made visible, and in HTML raw HTML is shown
as text, images are never fetched, and a Content-Security-Policy forbids scripts and every
network fetch, so the page works offline and does nothing but show text.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from talkroom import __version__
from talkroom.core import clock
from talkroom.core.errors import BadInput, StoreError
from talkroom.core.model import CLOSED, Block, Conversation
from talkroom.core.names import join_names
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.core.views import action_text
from talkroom.replay.timeline import Timeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from markdown_it import MarkdownIt


def when(stamp: str) -> str:
    """`2026-11-21 13:45 UTC`, or the file's own text when it is not a time."""
    ts = clock.parse_loose(stamp)
    if ts is None:
        return sanitise_line(stamp)
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def heading(block: Block) -> str:
    """`ada · turn 2/12 · 2026-11-21 13:45 UTC` (plain, sanitised)."""
    parts = [sanitise_line(block.author)]
    if block.kind == "Opening":
        parts.append("opened")
    if block.turn is not None:
        parts.append(f"turn {block.turn}/{block.budget}")
    parts.append(when(block.at))
    return " · ".join(parts)


def summary(conv: Conversation) -> list[tuple[str, str]]:
    """The facts at the top: status, participants, turns, when, id (plain, sanitised)."""
    return [
        ("Status", conv.status),
        ("Participants", sanitise_line(join_names(conv.participants))),
        ("Turns", f"{conv.turns} of {conv.max_turns}"),
        ("Opened", f"{when(conv.opened_at)} by {sanitise_line(conv.opened_by or '?')}"),
        ("Last activity", when(conv.updated_at) if conv.updated_at else "?"),
        ("Conversation", conv.id),
    ]


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def inert_markdown(text: str) -> str:
    """Markdown with terminal controls made visible and raw HTML shown as text: `<` and `&`
    are escaped outside code (fences and backtick spans), where Markdown shows them as is."""
    out = []
    fence: str | None = None
    for line in sanitise(text).split("\n"):
        marker = _FENCE.match(line)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if marker:
            fence = marker.group(1)
            out.append(line)
            continue
        parts = line.split("`")
        for i in range(0, len(parts), 2):  # even parts are outside `code`
            parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;")
        out.append("`".join(parts))
    return "\n".join(out)


def to_markdown(conv: Conversation) -> str:
    """A clean transcript: the decision first, then every turn, no protocol markers."""
    out = [f"# {inert_markdown(sanitise_line(conv.topic)) or conv.id}", ""]
    if conv.resolution:
        out += [f"**Resolution:** {inert_markdown(sanitise_line(conv.resolution))}", ""]
    out += [f"- **{k}:** {v}" for k, v in summary(conv)] + ["", "## Transcript", ""]
    for block in conv.blocks:
        if block.kind == "Moderator":
            out.append(
                f"*{inert_markdown(sanitise_line(block.author))} (moderator) "
                f"{inert_markdown(action_text(block))}*  "
            )
            out.append(f"<sub>{when(block.at)}</sub>")
            out.append("")
            if block.action == "inject" and block.body:
                out += [inert_markdown(block.body), ""]
            continue
        out += [f"### {inert_markdown(heading(block))}", ""]
        if block.body:
            out += [inert_markdown(block.body), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _markdown_renderer() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # No raw HTML from bodies (shown as text) and no images (they would be fetched).
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; background: #fff; }
header { border-bottom: 2px solid #ddd; margin-bottom: 1.5rem; }
h1 { margin-bottom: .5rem; }
.resolution { background: #e8f6ea; border-left: 4px solid #2e8b47; padding: .75rem 1rem; }
.open { background: #fff6e0; border-left: 4px solid #d18f00; padding: .75rem 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { color: #666; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee;
         vertical-align: top; }
td.time { white-space: nowrap; color: #666; }
.delivered { color: #2e8b47; } .deferred { color: #a56f00; } .failed { color: #c0392b; }
.unknown { color: #8e44ad; }
article { border: 1px solid #e4e4e4; border-radius: 6px; padding: .25rem 1rem;
          margin: 1rem 0; }
article.moderator { background: #fbf7ef; }
article h3 { font-size: 1rem; margin: .5rem 0; }
article h3 span { color: #666; font-weight: normal; }
.next { color: #666; font-size: .9rem; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
body, p, li, td, dd, h1, h3, pre, code { overflow-wrap: anywhere; }
code { background: #f6f8fa; padding: 0 .2rem; }
footer { color: #888; font-size: .8rem; margin-top: 2rem; }
"""


_renderer: MarkdownIt | None = None


def body_html(text: str) -> str:
    """A body as inert HTML: controls made visible, raw HTML as text, no images."""
    global _renderer
    if _renderer is None:
        _renderer = _markdown_renderer()
    html: str = _renderer.render(sanitise(text))
    return html.replace("<a href=", '<a rel="noreferrer" href=')


def to_html(conv: Conversation, receipts: list[Receipt]) -> str:
    """One self-contained, inert page."""
    esc = html.escape
    body = body_html

    title = esc(sanitise_line(conv.topic) or conv.id)
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{title}</h1>",
    ]
    if conv.resolution:
        out.append(
            f'<p class="resolution" id="resolution"><strong>Resolution:</strong> '
            f"{esc(sanitise_line(conv.resolution))}</p>"
        )
    elif conv.status != CLOSED:
        out.append(
            '<p class="open">No resolution yet: the conversation is '
            f"{esc(conv.status.lower())}.</p>"
        )
    out.append("<dl>")
    out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in summary(conv)]
    out += ["</dl>", "</header>"]
    rows = _timeline_rows(conv, receipts)
    if rows:
        out += [
            '<section id="timeline">',
            "<h2>Timeline</h2>",
            "<table><thead><tr><th>When</th><th>What</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            "</section>",
        ]
    out += ['<section id="transcript">', "<h2>Transcript</h2>"]
    for block in conv.blocks:
        if block.kind == "Moderator":
            out.append('<article class="moderator">')
            out.append(
                f"<h3>⚑ {esc(sanitise_line(block.author))} "
                f"<span>{esc(action_text(block))} · {esc(when(block.at))}</span></h3>"
            )
            if block.action == "inject" and block.body:
                out.append(body(block.body))
        else:
            out.append('<article class="turn">')
            out.append(
                f"<h3>{esc(sanitise_line(block.author))} "
                f"<span>{esc(heading(block).split(' · ', 1)[1])}</span></h3>"
            )
            out.append(body(block.body) if block.body else "")
            if block.next is not None:
                target = sanitise_line(join_names(block.next)) if block.next else "nobody"
                out.append(f'<p class="next">→ next: {esc(target)}</p>')
        out.append("</article>")
    out += [
        "</section>",
        f"<footer>Exported by talkroom {esc(__version__)} on "
        f"{esc(when(clock.iso(clock.now())))}.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


def _timeline_rows(conv: Conversation, receipts: list[Receipt]) -> list[str]:
    """Moderator actions and delivery receipts, in order, as table rows."""
    esc = html.escape
    rows = []
    for step in Timeline(conv, receipts).steps:
        block = conv.blocks[step.blocks - 1]
        stamp = esc(when(step.receipt.at if step.receipt else block.at))
        if step.receipt is not None:
            kind = (
                step.receipt.kind
                if step.receipt.kind in ("delivered", "deferred", "failed", "unknown")
                else "unknown"
            )
            rows.append(
                f'<tr><td class="time">{stamp}</td><td class="{kind}">'
                f"{esc(step.receipt.describe())}</td></tr>"
            )
        elif block.kind == "Moderator":
            rows.append(
                f'<tr><td class="time">{stamp}</td><td>⚑ '
                f"{esc(sanitise_line(block.author))} {esc(action_text(block))}"
                "</td></tr>"
            )
    return rows


EXTENSIONS = (".md", ".markdown", ".html", ".htm")


def check_name(name: str) -> None:
    """Refuse an export file name without a known extension: `md` typed where a name was
    wanted would write a file called `md`."""
    if not name.lower().endswith(EXTENSIONS):
        raise BadInput(
            f"{name!r} has no extension talkroom writes ({', '.join(EXTENSIONS)}); "
            f"name the file, e.g. {name.rstrip('.') or 'talk'}.md (--format picks "
            "md or html)"
        )


def write_file(path: Path, text: str, *, force: bool = False) -> None:
    """Write an export; an existing file (or symlink) is replaced only with `force`."""
    if (path.exists() or path.is_symlink()) and not force:
        raise BadInput(f"{path} already exists; choose another name, or replace it with --force")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror}; choose another file") from None
