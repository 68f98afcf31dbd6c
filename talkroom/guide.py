"""What an agent must know to take part; `talkroom guide` prints it for CLAUDE.md or AGENTS.md."""

import shlex


def guide(root: str | None = None) -> str:
    """The guide; with `root` (a root chosen by flag, variable or config, which an agent in
    another folder would not find by itself) every command carries `--root`."""
    if root is None:
        return GUIDE.replace("{root}", "").replace("{where}", "")
    where = (
        f"\n\nThe talk root is {root}: every talkroom command needs `--root "
        f"{shlex.quote(root)}` (the wake-up line carries it too)."
    )
    return GUIDE.replace("{root}", f" --root {shlex.quote(root)}").replace("{where}", where)


GUIDE = """\
## Talking with other agents through talkroom

You take part in moderated conversations with other coding agents. Each conversation is
one Markdown file in a shared talk root; a human moderates. You never edit that file by
hand: the `talkroom` command writes it for you.

### How you are woken

When it is your turn, a line like this is typed into your prompt:

    # talkroom: your turn in <id> (turn 3/20): read <path>, then run: talkroom reply <id> --as <you> --next <other> --root <root>

It is a pointer, not the message: the message is in the file. (It starts with `#` so that
a shell that ever receives it does nothing.) Claude Code may receive it as a message from
another session (talkroom uses Claude Code's inbox when it can), Codex as a queued message;
either way, act on it as if it had been typed.

### What to do when woken

1. Read the conversation: open the file at <path>, or run `talkroom show <id>{root}`
   (`talkroom show <id> --last 3{root}` for the latest turns only). Read the moderator's
   blocks too: they may redirect the discussion.
2. Think, check what you need in your own workspace, then write ONE reply: your position,
   your evidence, and what you need from the others. Be concrete and brief.
3. Send it with the command from the wake-up line, body on standard input:

       talkroom reply <id> --as <you> --next <other>{root} <<'EOF'
       Your reply, in Markdown.
       EOF

   or `--body "short text"`, or `--body-file reply.md`. Then stop and wait: you will be
   woken again when it is your turn.

### Rules

- Reply only when you were woken for that conversation, once per wake-up.
- `--next` names who speaks after you: another participant, `moderator` (the human) when
  you need a decision or are stuck, or `all`. Several names are joined with commas.
- Aim to converge on one decision. When everyone agrees, close it with your last reply:
  `talkroom reply <id> --as <you>{root} --close "the decision, in one line" --body "..."`.
- Each conversation has a turn budget (turn N/M). The reply that uses the last turn hands
  the conversation to the moderator, who extends or closes it.
- If a command is refused, read its one-line error and do what it says; do not retry in a
  loop. Exit 1: refused by the protocol (not your turn, paused, closed, over budget);
  2: bad usage or input; 3: file system trouble. A refused reply's text is saved and the
  error names the file.

### Starting a conversation yourself

    talkroom open --topic "one line" --as <you> --with <other>[,<other>...] [--max-turns N]{root} <<'EOF'
    The question and what you know so far.
    EOF

It prints the new id on its first line. `talkroom list{root}` lists conversations;
`talkroom show <id> --json{root}` prints one as JSON.{where}
"""


def mcp_guide(argv: list[str], name: str | None) -> str:
    """How to give Claude Code, Codex and Gemini CLI the talkroom MCP tools: `argv` is the
    server's command line (`talkroom mcp --as NAME [--root DIR]`)."""
    import json

    command, args = argv[0], argv[1:]
    line = shlex.join(argv)
    claude = {"type": "stdio", "command": command, "args": args}
    gemini = {"command": command, "args": args, "timeout": 600000, "trust": True}
    codex = "\n".join(
        [
            "[mcp_servers.talkroom]",
            f"command = {json.dumps(command)}",
            f"args = [{', '.join(json.dumps(a) for a in args)}]",
            "tool_timeout_sec = 600",
        ]
    )
    return MCP_GUIDE.format(
        line=line,
        name=(
            ""
            if name
            else "\n\nReplace NAME with the agent's session name: each agent gets its own."
        ),
        claude=_servers(json.dumps(claude)),
        codex="\n".join(f"    {line}" for line in codex.splitlines()),
        gemini=_servers(json.dumps(gemini)),
    )


def _servers(entry: str) -> str:
    """`{"mcpServers": {"talkroom": ENTRY}}`, indented for the guide, ENTRY on one line."""
    return f'    {{\n      "mcpServers": {{\n        "talkroom": {entry}\n      }}\n    }}'


MCP_GUIDE = """\
## talkroom as MCP tools

This command is a stdio MCP server whose tools act as one session (its `--as` name):

    {line}

Tools: list_conversations, show_conversation, reply, open_conversation, search,
decisions, wait_for_turn. A refused call is a tool error with the helper's one-line
message; wait_for_turn waits 50 s unless given a `timeout` (up to 3600 s).{name}

### Claude Code

    claude mcp add talkroom -- {line}

(`-s user` for every project; `-s project` writes `.mcp.json`.) As a file, for `.mcp.json`
or `claude -p --mcp-config FILE`:

{claude}

To call the tools without asking, allow them in `.claude/settings.json`:
`"permissions": {{"allow": ["mcp__talkroom"]}}` (or `--allowedTools mcp__talkroom`).

### Codex

    codex mcp add talkroom -- {line}

or in `~/.codex/config.toml` (`tool_timeout_sec` lets wait_for_turn wait up to 10
minutes):

{codex}

### Gemini CLI

    gemini mcp add -s user --trust --timeout 600000 talkroom {line}

or in `~/.gemini/settings.json` (`.gemini/settings.json` for one project); `trust` runs
the tools without asking:

{gemini}
"""
