"""The `talkroom` command: argument parsing and dispatch; heavy parts are imported lazily.

The agents' helper commands (open, reply, show, list, ...) never import textual, libtmux
or watchdog: they run for every turn and must start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from talkroom import __version__
from talkroom.core.errors import BadInput, NotFound, StoreError, TalkError
from talkroom.core.names import MAX_BODY_BYTES
from talkroom.core.paths import Root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

    from talkroom.core.config import Config
    from talkroom.core.model import Conversation
    from talkroom.core.receipts import Receipt

Handler = Callable[["Context"], int]


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil (and zlib, bz2, lzma with it)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            try:
                width = os.get_terminal_size().columns - 2
            except OSError:
                width = 78
        super().__init__(prog, indent_increment, max_help_position, max(width, 40))


class _Once(argparse._StoreAction):
    """argparse's `store`, refusing a second value: `--body A --body B` would otherwise
    silently drop A, which is text somebody wrote."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        if option_string is not None and getattr(namespace, f"_seen_{self.dest}", False):
            raise BadInput(f"{option_string} is given twice; give it once")
        setattr(namespace, f"_seen_{self.dest}", True)
        super().__call__(parser, namespace, values, option_string)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that raise instead of printing usage."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault("allow_abbrev", False)  # `--bod TEXT` is a typo, not `--body`
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.register("action", None, _Once)
        self.register("action", "store", _Once)

    def error(self, message: str) -> None:  # type: ignore[override]
        if "expected one argument" in message and message.startswith("argument "):
            # `--body -x`: argparse takes a value starting with '-' for an option
            option = message.split()[1].split("/")[-1].rstrip(":")
            raise BadInput(f"{message}; a value starting with '-' goes as {option}=VALUE"
                           + (" or on standard input" if option == "--body" else ""))
        raise BadInput(f"{message}; see '{self.prog} -h'")


class Context:
    """One invocation: parsed arguments and lazily found root, host and config."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._config: Config | None = None
        self.lenient_config = False  # doctor reports a bad config instead of stopping at it
        self.body_raw: bytes | None = None  # a body read for open/reply/inject, kept on failure
        self.body_file: str | None = None  # or the file it was read from, which keeps it
        self.body_cut = False  # the body was longer than what was read of it

    @property
    def config(self) -> Config:
        """The effective configuration (read on first use: most helper runs never need it)."""
        if self._config is None:
            from talkroom.core import config, stale

            cfg = config.load(lenient=self.lenient_config)
            for warning in [] if self.lenient_config else cfg.warnings:
                print(f"talkroom: warning: {warning}", file=sys.stderr)
            stale.set_stale_after(cfg.settings.stale_lock_seconds)
            self._config = cfg
        return self._config

    @property
    def root(self) -> Root:
        """The talk root (docs/protocol.md section 1)."""
        from talkroom.core.paths import find_root

        flag = getattr(self.args, "root", None)
        if flag is not None and not flag.strip():
            raise BadInput("--root is empty; give the talk root's folder, e.g. --root ~/talks")
        if flag or os.environ.get("TALKROOM_ROOT"):
            return find_root(flag)
        configured = self.config.settings.root
        return find_root(None, configured)

    @property
    def host(self) -> str:
        """This host's name."""
        from talkroom.core.paths import host_name

        return host_name(getattr(self.args, "host", None))

    @property
    def moderator(self) -> str:
        """The name on moderator blocks."""
        from talkroom.core.ops import moderator_name

        configured = self.config.settings.moderator
        return moderator_name(configured)

    def read_body(self, required: bool) -> str:
        """The body from --body, --body-file or standard input (when it is not a terminal)."""
        text, path = getattr(self.args, "body", None), getattr(self.args, "body_file", None)
        if text is not None and path is not None:
            raise BadInput("give the body once: --body TEXT or --body-file PATH, not both")
        if text is not None:
            raw = text.encode("utf-8", "surrogateescape")
        elif path is not None:
            raw = _read_body_file(path)
            self.body_cut = len(raw) > (STDIN_KEPT if path == "-" else FILE_READ)
        elif not sys.stdin.isatty():
            raw = _read_capped(sys.stdin.buffer, STDIN_KEPT)  # all of it is kept if refused
            self.body_cut = len(raw) > STDIN_KEPT
        else:
            raw = b""
        # A named --body-file stays where it is: that is where the body is kept.
        self.body_raw = None if path not in (None, "-") else raw
        self.body_file = path if path not in (None, "-") else None
        if required and not raw.strip():
            raise BadInput(
                "no body: give --body TEXT, --body-file PATH, or pipe it on standard input"
            )
        if self.body_cut:
            raise BadInput(f"the body is over {len(raw) - 1} bytes; the limit is {MAX_BODY_BYTES}"
                           " (256 KiB): split it, or put the detail in a file and link it")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"the body is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                           f"{exc.start}); convert it, e.g. with iconv -t UTF-8") from None


STDIN_KEPT = 16 * 1024 * 1024  # read this much of a refused stdin body, to save it
FILE_READ = 4 * MAX_BODY_BYTES  # a --body-file stays where it is; only this much is read


def _read_capped(stream: BinaryIO, limit: int) -> bytes:
    """At most `limit` + 1 bytes: enough to know it is too long (/dev/zero never ends)."""
    return stream.read(limit + 1)


def check_profiles_and_theme(cfg: Config, *, lenient: bool = False, theme: bool = True) -> None:
    """Check what only the upper layers know: profile overrides and the theme's name.

    Raises a one-line BadInput, or with `lenient` (doctor) adds the problem to
    `cfg.errors`. Not run by the agents' commands: they use neither, and must start fast.
    """
    problems: list[str] = []
    profiles = cfg.settings.profiles
    if profiles:
        from talkroom.watch.profiles import profiles_from_config

        try:
            profiles_from_config(profiles)
        except ValueError as exc:
            problems.append(f"{cfg.sources['profiles']}: profiles: {exc}; "
                            "fix it ('talkroom config --edit')")
    if theme and cfg.sources["theme"] != "default":
        from textual.theme import BUILTIN_THEMES

        if cfg.settings.theme not in BUILTIN_THEMES:
            fix = ("fix the variable" if cfg.sources["theme"].startswith("$")
                   else "fix it ('talkroom config --edit')")
            problems.append(f"{cfg.sources['theme']}: theme {cfg.settings.theme!r} is not one of "
                            f"{', '.join(sorted(BUILTIN_THEMES))}; {fix}")
    if problems and not lenient:
        raise BadInput(problems[0])
    cfg.errors.extend(problems)


def _read_body_file(path: str) -> bytes:
    if path == "-":
        return _read_capped(sys.stdin.buffer, STDIN_KEPT)
    try:
        import stat

        if stat.S_ISCHR(os.stat(path).st_mode) or stat.S_ISBLK(os.stat(path).st_mode):
            raise BadInput(f"--body-file {path} is a device; give a file")
        with open(path, "rb") as fh:
            return _read_capped(fh, FILE_READ)  # the file itself stays: nothing is lost
    except FileNotFoundError:
        raise BadInput(f"--body-file {path}: no such file; check the path") from None
    except IsADirectoryError:
        raise BadInput(f"--body-file {path} is a folder; give a file") from None
    except OSError as exc:
        raise BadInput(f"--body-file {path}: {exc.strerror}; check the path") from None


def _say(outcome: object) -> None:
    from talkroom.core.ops import Outcome

    assert isinstance(outcome, Outcome)
    for note in outcome.notes:
        print(f"note: {note}")
    for warning in outcome.warnings():
        print(f"talkroom: warning: {warning}", file=sys.stderr)


# --- the helper's commands ----------------------------------------------------------------


def cmd_open(ctx: Context) -> int:
    """talkroom open: start a conversation; prints its id on the first line."""
    from talkroom.core import ops

    a = ctx.args
    body = ctx.read_body(required=False)
    opener = a.as_name.strip().lower()
    plan = ops.plan_open(
        ctx.root,
        topic=a.topic,
        opener=a.as_name,
        with_=a.with_names.split(","),
        next_=ops.parse_names(a.next) if a.next else None,
        max_turns=a.max_turns,
        body=body,
        moderator=ctx.moderator if opener == "moderator" else None,
        waiting_limit=a.waiting_limit,
    )
    outcome = ops.open_conversation(ctx.root, plan, ctx.host)
    conv = outcome.conv
    print(conv.id)
    print(f"file: {conv.path}")
    print(f"turn 1/{conv.max_turns}; next: {', '.join(conv.next)}")
    _say(outcome)
    return 0


def cmd_reply(ctx: Context) -> int:
    """talkroom reply: add your turn when `next` names you."""
    from talkroom.core import ops

    a = ctx.args
    body = ctx.read_body(required=True)
    plan = ops.plan_reply(
        ctx.root, a.id, author=a.as_name,
        next_=ops.parse_names(a.next) if a.next else None, body=body, close=a.close,
    )
    outcome = ops.run(plan, ctx.host)
    conv = outcome.conv
    if "CODEX_TOOL_CALL_ID" in os.environ or "CODEX_THREAD_ID" in os.environ:
        _note_codex_thread(ctx, a.as_name)  # its thread can then be woken by `codex queue`
    if conv.status == "CLOSED":
        print(f"turn {conv.turns}/{conv.max_turns} added to {conv.id}; closed: "
              f"{conv.resolution}")
    else:
        print(f"turn {conv.turns}/{conv.max_turns} added to {conv.id}; "
              f"next: {', '.join(conv.next)}")
    _say(outcome)
    return 0


def _note_codex_thread(ctx: Context, name: str) -> None:
    """Replying from inside Codex: remember its thread for `codex queue` (best effort)."""
    from talkroom.watch import native, registry

    try:
        thread = native.codex_thread(dict(os.environ))
        if thread:
            registry.note_thread(ctx.root, ctx.host, name.strip().lower(), thread)
    except (TalkError, OSError):
        pass  # the reply is written; only a faster wake-up next time is lost


def _moderate(ctx: Context, action: str, **kwargs: object) -> int:
    from talkroom.core import moderate, ops

    plan = moderate.plan_moderate(ctx.root, ctx.args.id, action, moderator=ctx.moderator,
                             **kwargs)  # type: ignore[arg-type]
    outcome = ops.run(plan, ctx.host)
    conv = outcome.conv
    print(f"{action}: {conv.id} is {conv.status}, turn {conv.turns}/{conv.max_turns}, "
          f"next: {', '.join(conv.next) or 'nobody'}")
    _say(outcome)
    return 0


def cmd_next(ctx: Context) -> int:
    """talkroom next: set who speaks now."""
    from talkroom.core.ops import parse_names

    return _moderate(ctx, "next", next_=parse_names(",".join(ctx.args.names), "NAME"))


def cmd_inject(ctx: Context) -> int:
    """talkroom inject: add the moderator's message, optionally setting next."""
    from talkroom.core.ops import parse_names

    body = ctx.read_body(required=True)
    names = parse_names(ctx.args.next) if ctx.args.next else None
    return _moderate(ctx, "inject", next_=names, body=body)


def cmd_pause(ctx: Context) -> int:
    """talkroom pause."""
    return _moderate(ctx, "pause", body=ctx.args.reason or "")


def cmd_resume(ctx: Context) -> int:
    """talkroom resume."""
    return _moderate(ctx, "resume")


def cmd_close(ctx: Context) -> int:
    """talkroom close."""
    return _moderate(ctx, "close", body=ctx.args.resolution)


def cmd_extend(ctx: Context) -> int:
    """talkroom extend."""
    return _moderate(ctx, "extend", by=ctx.args.by)


def cmd_nudge(ctx: Context) -> int:
    """talkroom nudge: ask the watchers to deliver the current next again."""
    return _moderate(ctx, "nudge")


def cmd_show(ctx: Context) -> int:
    """talkroom show: one conversation, sanitised, or as JSON."""
    import json

    from talkroom.core import journal, views
    from talkroom.core.store import Reader

    a = ctx.args
    if a.last is not None and a.last < 0:
        raise BadInput(f"--last must be 0 or more, got {a.last}")
    path = ctx.root.conversation(a.id)
    reader = Reader()
    snap = reader.settle(path)
    if snap.missing:
        raise NotFound(f"no conversation {a.id!r} in {path.parent}; check the id with "
                       "'talkroom list' and the root with --root")
    if a.json:
        print(json.dumps(views.conversation_dict(snap)))
        return 0 if snap.readable else 3
    if not snap.readable or snap.conv is None:
        raise StoreError(f"{path} is unreadable: {snap.error}; fix or move the file")
    conv = snap.conv
    conv.lost = journal.check(conv)
    blocks = conv.blocks if a.last is None else conv.blocks[len(conv.blocks) - a.last:]
    if a.last == 0:
        blocks = []
    print(views.header_text(conv))
    for block in blocks:
        print()
        print(views.block_text(block), end="")
    sys.stdout.flush()
    if a.follow and conv.status != "CLOSED":  # a closed conversation never grows again
        return _follow(reader, path, len(conv.blocks))
    return 0


def _follow(reader: object, path: Path, seen: int) -> int:
    """Print blocks as they are appended, until the conversation closes or Ctrl-C."""
    from talkroom.core import views
    from talkroom.core.store import Reader

    assert isinstance(reader, Reader)
    try:
        while True:
            snap = reader.poll(path)
            conv = snap.conv
            if conv is not None and not snap.pending and len(conv.blocks) > seen:
                for block in conv.blocks[seen:]:
                    print()
                    print(views.block_text(block), end="")
                seen = len(conv.blocks)
                sys.stdout.flush()
                if conv.status == "CLOSED":
                    return 0
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


_STATUS_FILTER = {"in-progress": "IN-PROGRESS", "paused": "PAUSED", "closed": "CLOSED"}


def cmd_list(ctx: Context) -> int:
    """talkroom list: every conversation, newest activity first."""
    import json

    from talkroom.core import journal, views
    from talkroom.core.store import Reader, conversation_files

    a = ctx.args
    snaps = Reader().settle_all(conversation_files(ctx.root.conversations))
    for snap in snaps:
        if snap.readable and snap.conv is not None:
            snap.conv.lost = journal.check(snap.conv)
    wanted = _STATUS_FILTER.get(a.status)
    snaps = [
        s for s in views.newest_first(snaps)
        if not s.missing and (wanted is None or not s.readable
                              or (s.conv is not None and s.conv.status == wanted))
    ]
    if a.json:
        print(json.dumps([views.conversation_dict(s, blocks=False) for s in snaps]))
    else:
        for snap in snaps:
            print(views.summary_line(snap))
    return 0


def cmd_guide(ctx: Context) -> int:
    """talkroom guide: what an agent must know, ready to paste into CLAUDE.md/AGENTS.md."""
    from talkroom.guide import GUIDE

    print(GUIDE, end="")
    return 0


# --- sessions and the watcher ------------------------------------------------------------


def cmd_register(ctx: Context) -> int:
    """talkroom register: record this tmux pane as session NAME on this host."""
    from talkroom.watch import registry
    from talkroom.watch.hostlock import HostLock
    from talkroom.watch.instruction import root_argument
    from talkroom.watch.tmux import TmuxError, pane_from_env

    a = ctx.args
    root, host = ctx.root, ctx.host
    try:
        root_argument(root.path)
    except ValueError as exc:
        raise BadInput(f"cannot register here: {exc}") from None
    try:
        pane = pane_from_env(os.environ, a.pane)
    except TmuxError as exc:
        raise BadInput(str(exc)) from None
    session = registry.register(root, host, a.name, a.agent, pane, env=dict(os.environ),
                                typed_only=a.wake == "typed")
    print(f"registered {session.name} on host {host}: pane {pane.pane_id} of the tmux server "
          f"at {pane.socket_path} (agent profile {session.agent})")
    from talkroom.doctor import wake_check

    problem, how = wake_check(session)
    print(f"wake-ups: {how}" + (f"; to fix: {problem}" if problem else ""))
    if HostLock(host, root.path).held_by() is None:
        print(f"note: no watcher runs for host {host} and root {root.path} yet; start "
              "'talkroom' or 'talkroom --watch-only' so this session is woken")
    return 0


def cmd_unregister(ctx: Context) -> int:
    """talkroom unregister: forget session NAME on this host."""
    from talkroom.core.errors import Refused
    from talkroom.watch import registry

    if not registry.unregister(ctx.root, ctx.host, ctx.args.name):
        raise Refused(f"{ctx.args.name!r} is not registered on host {ctx.host}; "
                      "see 'talkroom sessions'")
    print(f"unregistered {ctx.args.name} on host {ctx.host}")
    return 0


def cmd_sessions(ctx: Context) -> int:
    """talkroom sessions: every host's registered sessions."""
    import json

    from talkroom.core.sanitise import sanitise_line
    from talkroom.watch import registry
    from talkroom.watch.tmux import pane_alive

    host = ctx.host
    rows = []
    for session in registry.all_sessions(ctx.root):
        alive = pane_alive(session.pane) if session.host == host else None
        rows.append({"name": session.name, "host": session.host, "agent": session.agent,
                     "pane": session.pane.pane_id, "socket": session.pane.socket_path,
                     "registered_at": session.registered_at, "alive": alive,
                     "wake": session.wake})
    if ctx.args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        state = {True: "alive", False: "gone", None: "on another host"}[row["alive"]]
        print(f"{row['name']}  {row['host']}  {row['pane']}  {row['agent']}  {state}  "
              f"wake: {row['wake']}  {sanitise_line(str(row['socket']))}")
    if not rows:
        print("no sessions registered; run 'talkroom register NAME' inside an agent's pane")
    return 0


def cmd_demo(ctx: Context) -> int:
    """talkroom demo: three stand-in agents debate; the console moderates."""
    from talkroom.demo import run

    return run.run(ctx.host, ctx.config, keep=ctx.args.keep)


def _readable(ctx: Context, conv_id: str) -> Conversation:
    """One conversation, settled; a one-line error when it is missing or unreadable."""
    from talkroom.core.store import Reader

    path = ctx.root.conversation(conv_id)
    snap = Reader().settle(path)
    if snap.missing:
        raise NotFound(f"no conversation {conv_id!r} in {path.parent}; check the id with "
                       "'talkroom list' and the root with --root")
    if not snap.readable or snap.conv is None:
        raise StoreError(f"{path} is unreadable: {snap.error}; fix or move the file")
    return snap.conv


def _receipts_of(ctx: Context, conv_id: str) -> list[Receipt]:
    from talkroom.core.receipts import ReceiptTail

    return [r for r in ReceiptTail(ctx.root).poll() if r.conversation == conv_id]


def cmd_replay(ctx: Context) -> int:
    """talkroom replay: step through a conversation's history in the console."""
    conv = _readable(ctx, ctx.args.id)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput("replay is interactive and needs a terminal; for a transcript use "
                       f"'talkroom show {conv.id}' or 'talkroom export {conv.id}'")
    from talkroom.console.app import run_console

    return run_console(ctx.root, ctx.host, ctx.config, watch=False, poll=None,
                       replay=conv.id)


def cmd_search(ctx: Context) -> int:
    """talkroom search: matches in topics, bodies, participants and resolutions."""
    import json

    from talkroom.core.search import search
    from talkroom.core.store import Reader, conversation_files

    a = ctx.args
    if not a.query.strip():
        raise BadInput("the search query is empty; give a word or phrase to look for")
    snaps = Reader().settle_all(conversation_files(ctx.root.conversations))
    convs = sorted((s.conv for s in snaps if s.readable and s.conv is not None),
                   key=lambda c: c.updated_at, reverse=True)
    participant = None
    if a.participant:
        from talkroom.core.names import check_name

        participant = check_name(a.participant, "--participant name")
    hits = search(convs, a.query, status=_STATUS_FILTER.get(a.status), participant=participant)
    if a.json:
        print(json.dumps([h.to_json() for h in hits]))
        return 0
    for hit in hits:
        where = f"turn {hit.turn}" if hit.turn is not None else (
            f"block {hit.block + 1}" if hit.block is not None else hit.field)
        print(f"{hit.conv_id}  {where}  {hit.snippet}")
    if not hits:
        print(f"nothing matches {a.query!r}", file=sys.stderr)
    return 0


def cmd_export(ctx: Context) -> int:
    """talkroom export: a conversation as Markdown or as one self-contained HTML page."""
    from talkroom import export

    a = ctx.args
    conv = _readable(ctx, a.id)
    fmt = a.format or ("html" if a.output and a.output.endswith((".html", ".htm")) else "md")
    text = export.to_html(conv, _receipts_of(ctx, conv.id)) if fmt == "html" \
        else export.to_markdown(conv)
    if a.output is None or a.output == "-":
        sys.stdout.write(text)
        return 0
    if not a.output.strip():
        raise BadInput("-o is empty; give a file name, or '-' for standard output")
    out = Path(a.output)
    export.write_file(out, text, force=a.force)
    print(f"exported {conv.id} to {out.absolute()}")
    return 0


def cmd_doctor(ctx: Context) -> int:
    """talkroom doctor: what is wrong with this setup, one line each with the fix."""
    import json

    from talkroom import doctor

    ctx.lenient_config = True
    check_profiles_and_theme(ctx.config, lenient=True)
    checks = doctor.run(ctx.root, ctx.host, ctx.config)
    if ctx.args.json:
        print(json.dumps([c.to_json() for c in checks]))
    else:
        for check in checks:
            print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def cmd_config(ctx: Context) -> int:
    """talkroom config: the effective configuration and where each value came from."""
    import json

    from talkroom.core import config as configuration
    from talkroom.core.paths import config_file

    a = ctx.args
    path = config_file()
    if a.edit:
        return _edit_config(path)
    cfg = ctx.config
    check_profiles_and_theme(cfg)
    cfg.set_flag("poll_interval", getattr(a, "interval", None), "--interval")
    root = ctx.root
    rows = [("root", str(root.path), root.how), ("host", ctx.host,
            "--host" if getattr(a, "host", None) else "$TALKROOM_HOST"
            if os.environ.get("TALKROOM_HOST") else "the hostname")]
    rows += [(s.key, cfg[s.key], cfg.sources[s.key]) for s in configuration.SETTINGS
             if s.key != "root"]
    if cfg.settings.moderator is None:  # say what the default resolves to here
        rows = [("moderator", ctx.moderator, "default: your login name") if key == "moderator"
                else (key, value, source) for key, value, source in rows]
    if a.json:
        print(json.dumps({"file": str(path), "values": {k: v for k, v, _ in rows},
                          "sources": {k: src for k, _, src in rows},
                          "warnings": cfg.warnings}, default=str))
        return 0
    print(f"config file: {path}{'' if path.exists() else ' (not present)'}")
    for key, value, source in rows:
        shown = json.dumps(value) if isinstance(value, dict | bool | float | int) else value
        print(f"{key}: {shown if value is not None else '(unset)'}  [{source}]")
    return 0


def _edit_config(path: Path) -> int:
    """Create the file with every key commented at its default if missing; open the editor;
    check what was saved."""
    import shlex
    import subprocess

    from talkroom.core import config as configuration

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(configuration.template(), encoding="utf-8")
        print(f"created {path} with every key at its default")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except FileNotFoundError:
        raise BadInput(f"cannot run the editor {editor!r}; set $EDITOR, or edit {path}") \
            from None
    cfg = configuration.load(path)  # bad values raise a one-line BadInput
    check_profiles_and_theme(cfg)
    for warning in cfg.warnings:
        print(f"talkroom: warning: {warning}", file=sys.stderr)
    print(f"{path} is valid")
    return 0


def cmd_main(ctx: Context) -> int:
    """talkroom without a command: the console, or the headless watcher."""
    a = ctx.args
    if a.interval is not None and not 0.05 <= a.interval <= 3600:
        raise BadInput(f"--interval must be between 0.05 and 3600 seconds, got {a.interval}")
    if a.json and not a.watch_only:
        raise BadInput("--json goes with --watch-only")
    cfg = ctx.config
    check_profiles_and_theme(cfg, theme=not a.watch_only)
    cfg.set_flag("poll_interval", a.interval, "--interval")
    if a.watch_only:
        from talkroom.watch import headless

        return headless.run(ctx.root, ctx.host, cfg, poll=a.poll, as_json=a.json)
    from talkroom.console.app import run_console

    return run_console(ctx.root, ctx.host, ctx.config, watch=not a.no_watch,
                       poll=True if a.poll else None)


# --- the parser ---------------------------------------------------------------------------


def _globals(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--root", metavar="DIR", default=default,
                        help="the talk root (else $TALKROOM_ROOT, the config, nearest .talks)")
    parser.add_argument("--host", metavar="NAME", default=default,
                        help="this host's name (else $TALKROOM_HOST, the hostname)")


def _body_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("body (else standard input, when it is not a terminal)")
    group.add_argument("--body", metavar="TEXT", help="the text, in Markdown")
    group.add_argument("--body-file", metavar="PATH", help="read the text from a file ('-': stdin)")


def _args_open(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topic", required=True, metavar="TEXT", help="one line")
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME",
                   help="your session name, or 'moderator'")
    p.add_argument("--with", dest="with_names", required=True, metavar="NAME[,NAME...]",
                   help="the other participants")
    p.add_argument("--next", metavar="NAME[,...]",
                   help="who speaks first (default: the first --with name)")
    p.add_argument("--max-turns", type=int, metavar="N", help="the turn budget (default 20)")
    p.add_argument("--waiting-limit", metavar="DURATION",
                   help="flag it when next waits longer than this (600, 10m, 2h; "
                   "default: the config's waiting_threshold)")
    _body_options(p)


def _args_reply(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME", help="your session name")
    p.add_argument("--next", metavar="NAME[,...]",
                   help="who speaks after you: participants, 'moderator' or 'all'")
    p.add_argument("--close", metavar="RESOLUTION",
                   help="close the conversation with this decision")
    _body_options(p)


def _args_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--last", type=int, metavar="N", help="only the last N blocks")
    p.add_argument("--follow", action="store_true",
                   help="keep printing blocks as they are added, until it closes")


def _args_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["in-progress", "paused", "closed", "all"],
                   default="all", help="only these (unreadable files are always listed)")
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")


def _args_next(p: argparse.ArgumentParser) -> None:
    _args_id(p)
    p.add_argument("names", nargs="+", metavar="NAME[,...]",
                   help="participants, 'moderator' or 'all'")


def _args_inject(p: argparse.ArgumentParser) -> None:
    _args_id(p)
    p.add_argument("--next", metavar="NAME[,...]", help="who speaks after the message")
    _body_options(p)


def _args_pause(p: argparse.ArgumentParser) -> None:
    _args_id(p)
    p.add_argument("--reason", metavar="TEXT", help="why, shown to everyone")


def _args_close(p: argparse.ArgumentParser) -> None:
    _args_id(p)
    p.add_argument("--resolution", required=True, metavar="TEXT",
                   help="the decision, or why it ended")


def _args_extend(p: argparse.ArgumentParser) -> None:
    _args_id(p)
    p.add_argument("--by", type=int, required=True, metavar="N", help="more turns")


def _args_none(p: argparse.ArgumentParser) -> None:
    pass


def _args_register(p: argparse.ArgumentParser) -> None:
    from talkroom.watch.profiles import BUILTIN_PROFILES

    p.add_argument("name", metavar="NAME", help="the session's name in conversations")
    p.add_argument("--agent", choices=sorted(BUILTIN_PROFILES), default="generic",
                   help="the agent in this pane (how to tell it busy or idle)")
    p.add_argument("--pane", metavar="%N", help="the pane id (default: $TMUX_PANE)")
    p.add_argument("--wake", choices=["auto", "typed"], default="auto",
                   help="auto: through Claude Code's inbox or codex queue where they can, "
                   "else typed (default); typed: always type the wake-up line")


def _args_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")


def _args_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", metavar="QUERY", help="words that must all appear (any case)")
    p.add_argument("--status", choices=["in-progress", "paused", "closed", "all"],
                   default="all", help="only conversations with this status")
    p.add_argument("--participant", metavar="NAME", help="only conversations with NAME")
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument("--format", choices=["md", "html"],
                   help="Markdown or one self-contained HTML page (default: from -o, else md)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def _args_doctor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_config(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--show", action="store_true",
                       help="the effective configuration and each value's source (default)")
    group.add_argument("--edit", action="store_true",
                       help="open the config file in $EDITOR (created with defaults if missing)")
    p.add_argument("--json", action="store_true", help="with --show: one JSON object")


def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary root and the agents' tmux server on quit")


def _args_sessions(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array")


# name, aliases, handler, arguments, help
COMMANDS: list[tuple[str, tuple[str, ...], Handler, Callable[[argparse.ArgumentParser], None],
                     str]] = [
    ("open", (), cmd_open, _args_open, "open a conversation; prints its id on the first line"),
    ("reply", ("append-turn",), cmd_reply, _args_reply, "add your turn (when next names you)"),
    ("show", (), cmd_show, _args_show, "print a conversation (sanitised), or --json"),
    ("list", (), cmd_list, _args_list, "list conversations, newest activity first"),
    ("next", (), cmd_next, _args_next, "moderator: set who speaks now"),
    ("inject", (), cmd_inject, _args_inject, "moderator: add a message, optionally setting next"),
    ("pause", (), cmd_pause, _args_pause, "moderator: pause (no deliveries, no replies)"),
    ("resume", (), cmd_resume, _args_id, "moderator: resume and wake next again"),
    ("close", (), cmd_close, _args_close, "moderator: close with a resolution"),
    ("extend", (), cmd_extend, _args_extend, "moderator: raise the turn budget"),
    ("nudge", (), cmd_nudge, _args_id, "moderator: deliver the wake-up line to next again"),
    ("guide", (), cmd_guide, _args_none,
     "print what an agent must know (for CLAUDE.md or AGENTS.md)"),
    ("register", (), cmd_register, _args_register,
     "record this tmux pane as a session on this host (run it inside the agent's pane)"),
    ("unregister", (), cmd_unregister, _args_name, "forget a session on this host"),
    ("sessions", (), cmd_sessions, _args_sessions, "list every host's registered sessions"),
    ("replay", (), cmd_replay, _args_id, "step through a conversation's history (console)"),
    ("search", (), cmd_search, _args_search,
     "search topics, bodies, participants and resolutions of every conversation"),
    ("export", (), cmd_export, _args_export,
     "a conversation as clean Markdown or as one self-contained HTML page"),
    ("doctor", (), cmd_doctor, _args_doctor,
     "check the root, tmux, registrations and watchers; one line each with the fix"),
    ("config", (), cmd_config, _args_config,
     "show the effective configuration (--show) or edit the config file (--edit)"),
    ("demo", (), cmd_demo, _args_demo,
     "three stand-in agents debate in a private tmux server; you moderate (needs tmux)"),
]


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named in argv, skipping global options; None if there is none."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--root", "--host", "--interval"):  # global options with a value
            skip = True
        elif not arg.startswith("-"):
            return arg
        elif arg == "--":
            return None
    return None


def build_parser(only: str | None = None) -> Parser:
    """The command line; with `only`, just that command (argparse costs ~0.5 ms a command)."""
    parser = Parser(
        prog="talkroom",
        description="Moderated conversations between AI coding agents, over plain files. "
        "Without a command: the moderator console.",
    )
    parser.add_argument("--version", action="version", version=f"talkroom {__version__}")
    _globals(parser, None)
    parser.set_defaults(handler=cmd_main)
    watch = parser.add_argument_group("the console and the watcher")
    watch.add_argument("--no-watch", action="store_true",
                       help="run the console without this host's watcher")
    watch.add_argument("--watch-only", action="store_true",
                       help="run only the watcher, headless, one line per event")
    watch.add_argument("--poll", action="store_true",
                       help="poll the root even on a local disk (network mounts always are)")
    watch.add_argument("--interval", type=float, metavar="SECONDS",
                       help="seconds between polls (default: the config's poll_interval, 1)")
    watch.add_argument("--json", action="store_true",
                       help="with --watch-only: one JSON object per event")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = Parser(add_help=False)
    _globals(common, argparse.SUPPRESS)
    for name, aliases, handler, arguments, help in COMMANDS:
        if only is not None and only != name and only not in aliases:
            continue
        p = sub.add_parser(name, help=help, description=help, parents=[common],
                           aliases=list(aliases))
        p.set_defaults(handler=handler)
        arguments(p)
    return parser


_BODY_COMMANDS = ("open", "reply", "append-turn", "inject")


_CONSOLE_COMMANDS = (None, "demo", "replay")  # they own the terminal: no filter on it


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx: Context | None = None
    name = _command_in(argv)
    stdout, stderr = sys.stdout, sys.stderr
    if name not in _CONSOLE_COMMANDS:
        # Text from the talk root reaches these commands' output in many places (errors
        # quote a pause reason, a resolution, a `next` value): one filter at the boundary.
        sys.stdout = _Inert(stdout)
    try:
        for option in ("--root", "--host"):  # global: argparse sees them at two levels
            if sum(a == option or a.startswith(f"{option}=") for a in argv) > 1:
                raise BadInput(f"{option} is given twice; give it once")
        known = any(name == n or name in aliases for n, aliases, *_ in COMMANDS)
        args = build_parser(name if known else None).parse_args(argv)
        ctx = Context(args)
        handler: Handler = args.handler
        code = handler(ctx)
        sys.stdout.flush()  # here, not at exit: a failed write must change the exit code
        return code
    except TalkError as exc:
        return _fail(exc.message, exc.exit_code, ctx, argv, name)
    except BrokenPipeError:
        # the reader went away (`talkroom list | head`): stop quietly, as a SIGPIPE would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        return 141
    except OSError as exc:
        from talkroom.core.errors import io_error

        message = (io_error(exc, Path(exc.filename), "use") if exc.filename else
                   io_error(exc, Path("the output"), "write")).message
        return _fail(message, 3, ctx, argv, name)
    except KeyboardInterrupt:
        if name in _BODY_COMMANDS:
            return _fail("interrupted", 130, ctx, argv, name)
        return 130
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _fail(message: str, code: int, ctx: Context | None, argv: list[str],
          name: str | None) -> int:
    """Say what went wrong in one inert line, after saving every body the command got."""
    from talkroom.core.sanitise import sanitise_line

    if name in _BODY_COMMANDS or not any(name == n or name in a for n, a, *_ in COMMANDS):
        message += _keep_bodies(ctx, argv)  # a mistyped command may have carried a body
    print(f"talkroom: {sanitise_line(message)}", file=sys.stderr)
    return code


class _Inert:
    """A text stream whose writes are made inert for a terminal (docs/protocol.md s7)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.isascii() and text.replace("\n", "").replace("\t", "").isprintable():
            self._stream.write(text)  # nothing to make inert (the usual output)
        else:
            from talkroom.core.sanitise import sanitise

            self._stream.write(sanitise(text))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _keep_bodies(ctx: Context | None, argv: list[str]) -> str:
    """Save the body (or every body) a failed command was given; the error's suffix."""
    # Failed before reading its body: from the command line, or standard input.
    if ctx is not None and ctx.body_file is not None:
        return f"; the body is still in {ctx.body_file}"
    read = ctx.body_raw if ctx is not None else None
    bodies = [b for b in ([read] if read is not None else _bodies_in(argv)) if b.strip()]
    if not bodies:
        return ""
    from talkroom.core.paths import save_unsent

    label = (getattr(ctx.args, "id", None) if ctx is not None else None) or "body"
    saved: list[str] = []
    for body in bodies:
        try:
            saved.append(str(save_unsent(body, label)))
        except OSError as exc:
            return (f"; the body could not be saved ({exc.strerror or exc}): "
                    f"{_where_body_is(ctx, argv)}")
    cut = ctx is not None and ctx.body_cut and read is not None
    first = f"the first {len(read or b'') - 1} bytes of it " if cut else ""
    return f"; {first}saved to {', '.join(saved)}"


def _bodies_in(argv: list[str]) -> list[bytes]:
    """Every body in a command line that failed before reading it: `--body` values (also
    mistyped, as `--bod`), and standard input when it could be one. A `--body-file` stays
    where it is: no copy of it is made."""
    out: list[bytes] = []
    from_stdin = True
    for i, arg in enumerate(argv):
        option, eq, value = arg.partition("=")
        if len(option) >= 4 and "--body".startswith(option):
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            out.append(value.encode("utf-8", "surrogateescape"))
            from_stdin = False
        elif option == "--body-file":
            from_stdin = (value if eq else argv[i + 1] if i + 1 < len(argv) else "") == "-"
    if from_stdin and not sys.stdin.isatty():
        try:
            out.append(_read_capped(sys.stdin.buffer, STDIN_KEPT))
        except (OSError, ValueError):
            pass
    return out


def _where_body_is(ctx: Context | None, argv: list[str]) -> str:
    body_file = getattr(ctx.args, "body_file", None) if ctx is not None else None
    if any(a == "--body" or a.startswith("--body=") for a in argv):
        return "it is still in your command"
    if body_file not in (None, "-"):
        return f"it is still in {body_file}"
    return "it came on standard input: keep your copy"


if __name__ == "__main__":
    sys.exit(main())
