"""talkroom: conversations between AI coding agents, moderated, over plain files."""

__version__ = "0.1.0"
