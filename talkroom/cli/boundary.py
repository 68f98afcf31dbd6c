"""The error boundary: run one command line; every failure becomes one inert line and an
exit code, after saving every body the command was given."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talkroom.cli.context import STDIN_KEPT, Context, read_capped
from talkroom.cli.parser import command_in, find, parse
from talkroom.core.errors import BadInput, TalkError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

_BODY_COMMANDS = ("open", "reply", "append-turn", "inject")
_CONSOLE_COMMANDS = (None, "demo", "replay")  # they own the terminal: no filter on it


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx: Context | None = None
    name = command_in(argv)
    stdout, stderr = sys.stdout, sys.stderr
    if name not in _CONSOLE_COMMANDS:
        # Text from the talk root reaches these commands' output in many places (errors
        # quote a pause reason, a resolution, a `next` value): one filter at the boundary.
        sys.stdout = _Inert(stdout)
    try:
        # global: argparse sees them at two levels (serve's own --host is its address)
        for option in ("--root", "--host") if name != "serve" else ("--root",):
            if sum(a == option or a.startswith(f"{option}=") for a in argv) > 1:
                raise BadInput(f"{option} is given twice; give it once")
        args, handler = parse(argv, name)
        ctx = Context(args)
        code = handler(ctx, args)
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

        message = (
            io_error(exc, Path(exc.filename), "use")
            if exc.filename
            else io_error(exc, Path("the output"), "write")
        ).message
        return _fail(message, 3, ctx, argv, name)
    except KeyboardInterrupt:
        if name in _BODY_COMMANDS:
            return _fail("interrupted", 130, ctx, argv, name)
        return 130
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _fail(message: str, code: int, ctx: Context | None, argv: list[str], name: str | None) -> int:
    """Say what went wrong in one inert line, after saving every body the command got."""
    from talkroom.core.sanitise import sanitise_line

    if name in _BODY_COMMANDS or find(name) is None:
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

    # any command may fail here, so its arguments are looked up, not assumed
    label = (getattr(ctx.args, "id", None) if ctx is not None else None) or "body"
    saved: list[str] = []
    for body in bodies:
        try:
            saved.append(str(save_unsent(body, label)))
        except OSError as exc:
            return (
                f"; the body could not be saved ({exc.strerror or exc}): "
                f"{_where_body_is(ctx, argv)}"
            )
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
            out.append(read_capped(sys.stdin.buffer, STDIN_KEPT))
        except (OSError, ValueError):
            pass
    return out


def _where_body_is(ctx: Context | None, argv: list[str]) -> str:
    # any command may fail here, so its arguments are looked up, not assumed
    body_file = getattr(ctx.args, "body_file", None) if ctx is not None else None
    if any(a == "--body" or a.startswith("--body=") for a in argv):
        return "it is still in your command"
    if body_file not in (None, "-"):
        return f"it is still in {body_file}"
    return "it came on standard input: keep your copy"
