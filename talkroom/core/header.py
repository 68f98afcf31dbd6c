"""The YAML header: a strict fast path for what talkroom writes, BaseLoader for the rest."""

from __future__ import annotations

import re

from talkroom.core.errors import Unreadable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing on the helper's path
if TYPE_CHECKING:
    from collections.abc import Hashable
    from typing import Any

_KEY = r"[a-z](?:[a-z ]*[a-z])?"
_KEY_RE = re.compile(f"^{_KEY}$")
_FAST_LINE = re.compile(f"^({_KEY}):(?: (.*))?$")
# Characters YAML treats as breaks or refuses, and everything a plain scalar cannot hold.
_NOT_PLAIN_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_PLAIN_START_BAD = set("-?:,[]{}#&*!|>'\"%@`")
_QUOTED_OK_ESCAPE = re.compile(r'\\(["\\nrtbf]|u(?![dD][89a-fA-F])[0-9a-fA-F]{4})')
_ESCAPE_CHARS = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


# Bytes that are not UTF-8 (an older file's Latin-1 topic) decode to lone surrogates: kept
# as they are in a plain value, so a rewrite leaves them byte for byte.
_NOT_PLAIN_RAW = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _is_plain(value: str) -> bool:
    """True when `value` reads back unchanged as a YAML plain scalar."""
    if value == "":
        return True
    if value != value.strip(" ") or _NOT_PLAIN_RAW.search(value):
        return False
    if value[0] in _PLAIN_START_BAD or ": " in value or " #" in value or value.endswith(":"):
        return False
    # `---` / `...` alone would end the header for a naive reader.
    return not value.startswith(("---", "..."))


def quote(value: str) -> str:
    """A YAML double-quoted scalar that the fast path can also read."""
    out = []
    for ch in value:
        if ch in _ESCAPE_CHARS:
            out.append(_ESCAPE_CHARS[ch])
        elif _NOT_PLAIN_CHARS.match(ch):
            out.append(f"\\u{ord(ch):04x}" if not 0xD800 <= ord(ch) <= 0xDFFF else "\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_value(value: str) -> str:
    """Plain when safe, double-quoted otherwise."""
    return value if _is_plain(value) else quote(value)


def render_header(header: dict[str, str]) -> str:
    """The header block including both `---` lines."""
    lines = ["---"]
    for key, value in header.items():
        # Keys a hand edit brought in keep their meaning, quoted when not a plain word.
        name = key if _KEY_RE.match(key) and "  " not in key else quote(key)
        text = render_value(value)
        lines.append(f"{name}:" if text == "" else f"{name}: {text}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _fast_value(raw: str) -> str | None:
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            return None
        inner = raw[1:-1]
        # Only escapes YAML and JSON read the same way, and no bare quote inside.
        stripped = _QUOTED_OK_ESCAPE.sub("", inner)
        if "\\" in stripped or '"' in stripped or _NOT_PLAIN_CHARS.search(stripped):
            return None
        import json  # only for quoted values: most headers have none

        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    return raw if _is_plain(raw) else None


def parse_fast(text: str) -> dict[str, str] | None:
    """Parse a flat `key: value` header as talkroom writes it; None if not that shape."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        m = _FAST_LINE.match(line)
        if not m:
            return None
        key, raw = m.group(1), m.group(2) or ""
        if key in out or "  " in key:
            return None
        value = _fast_value(raw)
        if value is None:
            return None
        out[key] = value
    return out


_loader_class: type | None = None


def _strict_loader() -> type:
    """PyYAML's BaseLoader, refusing anchors, aliases and duplicate keys (built once)."""
    global _loader_class
    if _loader_class is not None:
        return _loader_class
    import yaml

    class StrictLoader(yaml.BaseLoader):
        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            if isinstance(event, yaml.AliasEvent):
                # The stubs allow libyaml's Mark here; this pure-Python loader makes yaml's.
                mark = event.start_mark
                raise yaml.MarkedYAMLError(None, None, "aliases are not allowed", mark)  # type: ignore[arg-type]
            if getattr(event, "anchor", None):
                raise yaml.MarkedYAMLError(None, None, "anchors are not allowed", event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(
            self, node: yaml.MappingNode, deep: bool = False
        ) -> dict[Hashable, Any]:
            seen: set[str] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise yaml.MarkedYAMLError(
                        None, None, "keys must be plain words", key_node.start_mark
                    )
                if key_node.value in seen:
                    raise yaml.MarkedYAMLError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
            return super().construct_mapping(node, deep)

    _loader_class = StrictLoader
    return StrictLoader


def load_yaml(text: str, first_line: int = 1) -> object:
    """Load a YAML document with the strict BaseLoader (every scalar a string).

    Errors become Unreadable with the file line (`first_line` is the text's first line).
    """
    import yaml

    try:
        return yaml.load(text, Loader=_strict_loader())  # BaseLoader: strings only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark is not None else first_line
        raise Unreadable(f"{exc.problem or exc.context}", line) from None
    except yaml.YAMLError as exc:
        raise Unreadable(f"{exc}", first_line) from None
    except RecursionError:
        raise Unreadable("nested too deeply; use flat 'key: value' lines", first_line) from None


def parse_yaml(text: str, first_line: int = 2) -> dict[str, str]:
    """Parse any header with PyYAML's BaseLoader; refuse anchors, aliases, duplicates."""
    try:
        data = load_yaml(text, first_line)
    except Unreadable as exc:
        raise Unreadable(f"header: {exc.reason}", exc.line) from None
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise Unreadable("header: expected 'key: value' lines", first_line)
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise Unreadable("header: keys must be plain words", first_line)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(value)
        if not isinstance(value, str):
            raise Unreadable(f"header: {key!r} must be text, not a nested structure", first_line)
        out[key] = value
    return out


def parse_header(text: str, first_line: int = 2) -> dict[str, str]:
    """Fast path first, BaseLoader for anything else; both agree where both apply."""
    fast = parse_fast(text)
    if fast is not None:
        return fast
    if _SURROGATES.search(text):  # PyYAML refuses them; this rare shape loses those bytes
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return parse_yaml(text, first_line)


_SURROGATES = re.compile("[\ud800-\udfff]")
