"""The moderator's tools: the console (and the headless watcher), replay, demo, search,
export, doctor and config; and the check of what only the console and watcher use."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talkroom.cli.context import Context, Globals
from talkroom.cli.parser import command, id_only
from talkroom.core.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    import argparse

    from talkroom.cli.parser import Spec
    from talkroom.core.config import Config


class ConsoleArgs(Globals):
    """talkroom without a command: the console's and the watcher's options."""

    no_watch: bool
    watch_only: bool
    poll: bool
    interval: float | None
    json: bool


class ReplayArgs(Globals):
    """talkroom replay's arguments."""

    id: str


class DemoArgs(Globals):
    """talkroom demo's arguments."""

    keep: bool


class SearchArgs(Globals):
    """talkroom search's arguments."""

    query: str
    status: str
    participant: str | None
    json: bool


class ExportArgs(Globals):
    """talkroom export's arguments."""

    id: str
    format: str | None
    output: str | None
    force: bool


class DoctorArgs(Globals):
    """talkroom doctor's arguments."""

    json: bool


class ConfigArgs(Globals):
    """talkroom config's arguments (and the global --interval it reports)."""

    show: bool
    edit: bool
    json: bool
    interval: float | None


def check_profiles_and_theme(
    cfg: Config, *, lenient: bool = False, theme: bool = True, profiles: bool = True
) -> None:
    """Check what only the console and the watcher use: profile overrides and the theme.

    Raises a one-line BadInput, or with `lenient` (doctor) adds the problem to
    `cfg.errors`. Not run by the agents' commands: they use neither, and must start fast.
    """
    problems: list[str] = []
    if profiles and cfg.settings.profiles:
        from talkroom.watch.profiles import profiles_from_config

        try:
            profiles_from_config(cfg.settings.profiles)
        except ValueError as exc:
            problems.append(
                f"{cfg.sources['profiles']}: profiles: {exc}; fix it ('talkroom config --edit')"
            )
    if theme and cfg.sources["theme"] != "default":
        from talkroom.console.themes import check_theme

        problem = check_theme(cfg.settings.theme)
        if problem is not None:
            fix = (
                "fix the variable"
                if cfg.sources["theme"].startswith("$")
                else "fix it ('talkroom config --edit')"
            )
            problems.append(f"{cfg.sources['theme']}: {problem}; {fix}")
    if problems and not lenient:
        raise BadInput(problems[0])
    cfg.errors.extend(problems)


def cmd_main(ctx: Context, a: ConsoleArgs) -> int:
    """talkroom without a command: the console, or the headless watcher."""
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

    return run_console(
        ctx.root, ctx.host, ctx.config, watch=not a.no_watch, poll=True if a.poll else None
    )


def cmd_replay(ctx: Context, a: ReplayArgs) -> int:
    """talkroom replay: step through a conversation's history in the console."""
    conv = ctx.conversation(a.id)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput(
            "replay is interactive and needs a terminal; for a transcript use "
            f"'talkroom show {conv.id}' or 'talkroom export {conv.id}'"
        )
    check_profiles_and_theme(ctx.config, profiles=False)  # no watcher: profiles are unused
    from talkroom.console.app import run_console

    return run_console(ctx.root, ctx.host, ctx.config, watch=False, poll=None, replay=conv.id)


def cmd_demo(ctx: Context, a: DemoArgs) -> int:
    """talkroom demo: three stand-in agents debate; the console moderates."""
    from talkroom.demo import run

    check_profiles_and_theme(ctx.config)  # its console and watcher use both, as talkroom's
    return run.run(ctx.host, ctx.config, keep=a.keep)


def cmd_search(ctx: Context, a: SearchArgs) -> int:
    """talkroom search: matches in topics, bodies, participants and resolutions."""
    import json

    from talkroom.core.lookup import found

    hits = found(ctx.root, a.query, status=a.status, participant=a.participant)
    if a.json:
        print(json.dumps([h.to_json() for h in hits]))
        return 0
    for hit in hits:
        where = (
            f"turn {hit.turn}"
            if hit.turn is not None
            else (f"block {hit.block + 1}" if hit.block is not None else hit.field)
        )
        print(f"{hit.conv_id}  {where}  {hit.snippet}")
    if not hits:
        print(f"nothing matches {a.query!r}", file=sys.stderr)
    return 0


def cmd_export(ctx: Context, a: ExportArgs) -> int:
    """talkroom export: a conversation as Markdown or as one self-contained HTML page."""
    from talkroom import export

    conv = ctx.conversation(a.id)
    if a.output not in (None, "-") and a.output.strip():
        export.check_name(a.output)
    fmt = a.format or ("html" if a.output and a.output.endswith((".html", ".htm")) else "md")
    if fmt == "html":
        from talkroom.core.receipts import receipts_for

        receipts = receipts_for(ctx.root, conv.id, conv.opened_at, conv.updated_at)
        text = export.to_html(conv, receipts)
    else:
        text = export.to_markdown(conv)
    if a.output is None or a.output == "-":
        sys.stdout.write(text)
        return 0
    if not a.output.strip():
        raise BadInput("-o is empty; give a file name, or '-' for standard output")
    out = Path(a.output)
    export.write_file(out, text, force=a.force)
    print(f"exported {conv.id} to {out.absolute()}")
    return 0


def cmd_doctor(ctx: Context, a: DoctorArgs) -> int:
    """talkroom doctor: what is wrong with this setup, one line each with the fix."""
    import json

    from talkroom import doctor

    ctx.lenient_config = True
    check_profiles_and_theme(ctx.config, lenient=True)
    checks = doctor.run(ctx.root, ctx.host, ctx.config)
    if a.json:
        print(json.dumps([c.to_json() for c in checks]))
    else:
        for check in checks:
            print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def cmd_config(ctx: Context, a: ConfigArgs) -> int:
    """talkroom config: the effective configuration and where each value came from."""
    import json

    from talkroom.core import config as configuration
    from talkroom.core.paths import config_file

    path = config_file()
    if a.edit:
        return _edit_config(path)
    cfg = ctx.config
    check_profiles_and_theme(cfg)
    cfg.set_flag("poll_interval", a.interval, "--interval")
    root = ctx.root
    host_source = (
        "--host"
        if a.host
        else "$TALKROOM_HOST"
        if os.environ.get("TALKROOM_HOST")
        else "the hostname"
    )
    rows: list[tuple[str, object, str]] = [
        ("root", str(root.path), root.how),
        ("host", ctx.host, host_source),
    ]
    rows += [
        (s.key, cfg[s.key], cfg.sources[s.key]) for s in configuration.SETTINGS if s.key != "root"
    ]
    if cfg.settings.moderator is None:  # say what the default resolves to here
        rows = [
            ("moderator", ctx.moderator, "default: your login name")
            if key == "moderator"
            else (key, value, source)
            for key, value, source in rows
        ]
    if a.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "values": {k: v for k, v, _ in rows},
                    "sources": {k: src for k, _, src in rows},
                    "warnings": cfg.warnings,
                },
                default=str,
            )
        )
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
        raise BadInput(f"cannot run the editor {editor!r}; set $EDITOR, or edit {path}") from None
    cfg = configuration.load(path)  # bad values raise a one-line BadInput
    check_profiles_and_theme(cfg)
    for warning in cfg.warnings:
        print(f"talkroom: warning: {warning}", file=sys.stderr)
    print(f"{path} is valid")
    return 0


def _args_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", metavar="QUERY", help="words that must all appear (any case)")
    p.add_argument(
        "--status",
        choices=["in-progress", "paused", "closed", "all"],
        default="all",
        help="only conversations with this status",
    )
    p.add_argument("--participant", metavar="NAME", help="only conversations with NAME")
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument(
        "--format",
        choices=["md", "html"],
        help="Markdown or one self-contained HTML page (default: from -o, else md)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def _args_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_config(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--show",
        action="store_true",
        help="the effective configuration and each value's source (default)",
    )
    group.add_argument(
        "--edit",
        action="store_true",
        help="open the config file in $EDITOR (created with defaults if missing)",
    )
    p.add_argument("--json", action="store_true", help="with --show: one JSON object")


def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary root and the agents' tmux server on quit",
    )


def _args_console(p: argparse.ArgumentParser) -> None:
    pass  # its options are the top level's own (talkroom.cli.parser.build_parser)


SPECS: dict[str, Spec] = {
    "": command(ConsoleArgs, _args_console, cmd_main),
    "replay": command(ReplayArgs, id_only, cmd_replay),
    "search": command(SearchArgs, _args_search, cmd_search),
    "export": command(ExportArgs, _args_export, cmd_export),
    "doctor": command(DoctorArgs, _args_json, cmd_doctor),
    "config": command(ConfigArgs, _args_config, cmd_config),
    "demo": command(DemoArgs, _args_demo, cmd_demo),
}
