"""The YAML header: BaseLoader semantics, hostile YAML, and the fast path's agreement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talkroom.core.errors import Unreadable
from talkroom.core.header import parse_fast, parse_header, parse_yaml, render_header

KEYS = st.from_regex(r"\A[a-z]([a-z ]{0,10}[a-z])?\Z").filter(lambda k: "  " not in k)
VALUES = st.text(st.characters(codec="utf-8"), max_size=40)


def _body(header: dict[str, str]) -> str:
    """The text between the two `---` lines."""
    return render_header(header).split("\n", 1)[1].rsplit("---\n", 1)[0]


def test_base_loader_keeps_every_value_a_string() -> None:
    text = "next: no\nmax turns: 012\nstatus: ~\nrevision: 1e3\ntopic: yes\nempty:\n"
    expected = {
        "next": "no",
        "max turns": "012",
        "status": "~",
        "revision": "1e3",
        "topic": "yes",
        "empty": "",
    }
    assert parse_yaml(text) == expected
    assert parse_header(text) == expected


@pytest.mark.parametrize(
    "text,reason",
    [
        ("a: &x 1\nb: *x\n", "anchors are not allowed"),
        ("a: 1\nb: *x\n", "aliases are not allowed"),
        ("topic: a\ntopic: b\n", "duplicate key 'topic'"),
        ("topic: {a: b}\n", "nested structure"),
        ("? [a]\n: b\n", "keys must be plain words"),
        ("topic: [" * 5000 + "\n", "nested too deeply"),
        ("topic: 'unterminated\n", "header"),
        ("- a\n- b\n", "expected 'key: value' lines"),
    ],
)
def test_hostile_yaml_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason) as info:
        parse_header(text)
    assert info.value.line is not None and info.value.line >= 2


def test_duplicate_key_error_names_its_line() -> None:
    with pytest.raises(Unreadable) as info:
        parse_header("topic: a\nstatus: PAUSED\ntopic: b\n", first_line=2)
    assert info.value.line == 4


def test_billion_laughs_is_refused_fast() -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n'
    with pytest.raises(Unreadable, match="anchors"):
        parse_header(bomb)


def test_a_yaml_list_of_participants_is_accepted() -> None:
    assert parse_header("participants:\n  - a\n  - b\n") == {"participants": "a, b"}


@given(st.dictionaries(KEYS, VALUES, max_size=6))
@settings(max_examples=300)
def test_render_then_parse_is_exact(header: dict[str, str]) -> None:
    text = _body(header)
    assert parse_header(text) == header
    assert parse_yaml(text) == header


@given(st.dictionaries(KEYS, VALUES, max_size=6))
@settings(max_examples=300)
def test_fast_path_agrees_with_base_loader_on_what_talkroom_writes(
    header: dict[str, str],
) -> None:
    text = _body(header)
    fast = parse_fast(text)
    assert fast is not None, text  # talkroom's own headers always take the fast path
    assert fast == parse_yaml(text)


@given(st.lists(st.tuples(KEYS, st.text(max_size=30)), max_size=5))
@settings(max_examples=500)
def test_fast_path_never_disagrees_on_arbitrary_flat_text(pairs: list[tuple[str, str]]) -> None:
    text = "".join(f"{k}: {v}\n" for k, v in pairs if "\n" not in v and "\r" not in v)
    fast = parse_fast(text)
    if fast is None:
        return
    try:
        slow = parse_yaml(text)
    except Unreadable:
        pytest.fail(f"fast path accepted what BaseLoader refuses: {text!r}")
    assert fast == slow


def test_unknown_and_odd_keys_survive_a_rewrite() -> None:
    header = parse_header('topic: t\nx-custom: 1\n"Weird Key": v\ncolour: blue\n')
    assert list(header) == ["topic", "x-custom", "Weird Key", "colour"]
    assert parse_header(_body(header)) == header
