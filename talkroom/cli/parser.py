"""The command line's grammar: argparse with one-line errors, and the table of commands.

Each command lives in a module of this package with a `SPECS` entry: its typed arguments
class, the function adding its arguments, and its handler. Only the named command's module
is imported (and only its arguments are built: argparse costs ~0.5 ms a command).
"""

from __future__ import annotations

import argparse
import os

from talkroom import __version__
from talkroom.core.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    from talkroom.cli.context import Context, Globals

    # Any: each handler takes its own arguments class; command() checks each pair instead
    Handler = Callable[[Context, Any], int]
    Arguments = Callable[[argparse.ArgumentParser], None]
    Spec = tuple[type[Globals], Arguments, Handler]
    A = TypeVar("A", bound=Globals)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil (and zlib, bz2, lzma with it)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            try:
                width = os.get_terminal_size().columns - 2
            except OSError:
                width = 78
        super().__init__(prog, indent_increment, max_help_position, max(width, 40))


class _Once(argparse._StoreAction):
    """argparse's `store`, refusing a second value: `--body A --body B` would otherwise
    silently drop A, which is text somebody wrote."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
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
        """Raise a one-line BadInput (argparse would print the usage and exit)."""
        if "expected one argument" in message and message.startswith("argument "):
            # `--body -x`: argparse takes a value starting with '-' for an option
            option = message.split()[1].split("/")[-1].rstrip(":")
            raise BadInput(
                f"{message}; a value starting with '-' goes as {option}=VALUE"
                + (" or on standard input" if option == "--body" else "")
            )
        raise BadInput(f"{message}; see '{self.prog} -h'")


# name, aliases, the module of this package that holds it, help
COMMANDS: list[tuple[str, tuple[str, ...], str, str]] = [
    ("open", (), "agents", "open a conversation; prints its id on the first line"),
    ("reply", ("append-turn",), "agents", "add your turn (when next names you)"),
    ("show", (), "agents", "print a conversation (sanitised), or --json"),
    ("list", (), "agents", "list conversations, newest activity first"),
    ("next", (), "moderator", "moderator: set who speaks now"),
    ("inject", (), "moderator", "moderator: add a message, optionally setting next"),
    ("pause", (), "moderator", "moderator: pause (no deliveries, no replies)"),
    ("resume", (), "moderator", "moderator: resume and wake next again"),
    ("close", (), "moderator", "moderator: close with a resolution"),
    ("reopen", (), "moderator", "moderator: reopen a closed conversation"),
    ("archive", (), "archive", "move closed conversations out of the live list (or back)"),
    ("extend", (), "moderator", "moderator: raise the turn budget"),
    ("nudge", (), "moderator", "moderator: deliver the wake-up line to next again"),
    ("guide", (), "agents", "print what an agent must know (for CLAUDE.md or AGENTS.md)"),
    ("mcp", (), "mcp_command", "serve the agent's tools over MCP (stdio) as session --as"),
    (
        "register",
        (),
        "sessions",
        "record this tmux pane as a session on this host (run it inside the agent's pane), "
        "or with --command a command run once per turn",
    ),
    ("unregister", (), "sessions", "forget a session on this host"),
    ("sessions", (), "sessions", "list every host's registered sessions"),
    ("replay", (), "tools", "step through a conversation's history (console)"),
    (
        "search",
        (),
        "tools",
        "search topics, bodies, participants and resolutions of every conversation",
    ),
    ("export", (), "tools", "a conversation as clean Markdown or as one self-contained HTML page"),
    (
        "doctor",
        (),
        "tools",
        "check the root, tmux, registrations and watchers; one line each with the fix",
    ),
    (
        "config",
        (),
        "tools",
        "show the effective configuration (--show) or edit the config file (--edit)",
    ),
    ("serve", (), "serve", "the console in a browser: prints a URL with a one-time token"),
    (
        "demo",
        (),
        "tools",
        "three stand-in agents debate in a private tmux server; you moderate (needs tmux)",
    ),
]
CONSOLE = ("", "tools")  # no command: the console (or the headless watcher)


def command(args: type[A], arguments: Arguments, handler: Callable[[Context, A], int]) -> Spec:
    """One command's entry in its module's SPECS; mypy checks that `handler` takes `args`."""
    return args, arguments, handler


def find(name: str | None) -> tuple[str, str] | None:
    """The command `name` (or alias) as (name, module); None when there is no such command."""
    for command, aliases, module, _ in COMMANDS:
        if name == command or name in aliases:
            return command, module
    return None


def spec(command: tuple[str, str]) -> Spec:
    """A command's arguments class, argument builder and handler; imports only its module."""
    name, module = command
    specs: dict[str, Spec] = __import__(f"talkroom.cli.{module}", fromlist=["SPECS"]).SPECS
    return specs[name]


def command_in(argv: Sequence[str]) -> str | None:
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


def parse(argv: Sequence[str], name: str | None) -> tuple[Globals, Handler]:
    """Parse argv, whose command is `name`, into that command's arguments class; its handler."""
    known = find(name)
    args_class = spec(known or CONSOLE)[0]
    args = build_parser(known[0] if known else None).parse_args(argv, namespace=args_class())
    # argparse has the last word on the command (`talkroom -- list` names one, too)
    return args, spec(find(args.command) or CONSOLE)[2]


def build_parser(only: str | None = None) -> Parser:
    """The command line; with `only`, just that command."""
    parser = Parser(
        prog="talkroom",
        description="Moderated conversations between AI coding agents, over plain files. "
        "Without a command: the moderator console.",
    )
    parser.add_argument("--version", action="version", version=f"talkroom {__version__}")
    _globals(parser, None)
    watch = parser.add_argument_group("the console and the watcher")
    watch.add_argument(
        "--no-watch", action="store_true", help="run the console without this host's watcher"
    )
    watch.add_argument(
        "--watch-only",
        action="store_true",
        help="run only the watcher, headless, one line per event",
    )
    watch.add_argument(
        "--poll",
        action="store_true",
        help="poll the root even on a local disk (network mounts always are)",
    )
    watch.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between polls (default: the config's poll_interval, 1)",
    )
    watch.add_argument(
        "--json", action="store_true", help="with --watch-only: one JSON object per event"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = Parser(add_help=False)
    _globals(common, argparse.SUPPRESS)
    for name, aliases, module, help in COMMANDS:
        if only is not None and only != name:
            continue
        p = sub.add_parser(
            name, help=help, description=help, parents=[common], aliases=list(aliases)
        )
        spec((name, module))[1](p)
    return parser


def _globals(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--root",
        metavar="DIR",
        default=default,
        help="the talk root (else $TALKROOM_ROOT, the config, nearest .talks)",
    )
    parser.add_argument(
        "--host",
        metavar="NAME",
        default=default,
        help="this host's name (else $TALKROOM_HOST, the hostname)",
    )


def body_options(parser: argparse.ArgumentParser) -> None:
    """--body and --body-file, for the commands that take a body."""
    group = parser.add_argument_group("body (else standard input, when it is not a terminal)")
    group.add_argument("--body", metavar="TEXT", help="the text, in Markdown")
    group.add_argument("--body-file", metavar="PATH", help="read the text from a file ('-': stdin)")


def id_only(p: argparse.ArgumentParser) -> None:
    """The arguments of a command that takes just a conversation id."""
    p.add_argument("id", metavar="ID")
