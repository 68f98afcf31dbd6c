"""`talkroom doctor`: what is wrong with this setup, one line each, with the fix."""

from __future__ import annotations

from talkroom.core.config import Config
from talkroom.core.errors import StoreError
from talkroom.core.paths import Root
from talkroom.doctor.check import Check
from talkroom.doctor.hosts import check_sessions, check_watchers, wake_check
from talkroom.doctor.setup import check_config, check_files, check_root, check_tmux
from talkroom.watch import registry

__all__ = ["Check", "run", "wake_check"]


def run(root: Root, host: str, config: Config) -> list[Check]:
    """Every check, in the order a user should fix them."""
    checks = check_config(config) + check_root(root, config)
    try:
        mine = list(registry.load_sessions(root, host).values())
    except StoreError:
        mine = []  # check_sessions says why
    checks += check_tmux(panes=not mine or any(s.pane is not None for s in mine))
    if root.path.is_dir() and all(
        p.is_dir() or not p.exists() for p in (root.conversations, root.hosts)
    ):
        checks += check_sessions(root, host) + check_watchers(root, host)
        checks += check_files(root, config.settings.stale_lock_seconds)
    return checks
