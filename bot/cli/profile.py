"""`mila profile check`: validate an operator profile and list what in it the operator has not confirmed yet.

A profile holds the operator's own facts (numbers, addresses, the services, the procedures); the parts written for
the demo rather than taken from the operator's documents are marked `draft: true` and must be confirmed (then
the mark removed) before subscribers read them.
"""

from __future__ import annotations

import argparse

from bot.cli.common import add_profile_option, settings_for
from bot.profiles import load_profile


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("profile", help="check an operator profile")
    actions = parser.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate the profile and list its texts marked draft")
    add_profile_option(check)
    check.set_defaults(func=check_profile)


def check_profile(args: argparse.Namespace) -> int:
    """Exit 0 for a valid profile (drafts are listed, not refused: the demo runs on them), 2 for an invalid one."""
    name = settings_for(args).bot.profile
    profile = load_profile(name)  # an invalid profile raises ProfileError: `mila:` and exit 2
    print(f"{profile.id}: valid ({profile.operator}, languages {', '.join(profile.languages)})")
    for gap in profile.gaps():  # what a flow would need and the profile does not have: listed, not refused
        print(f"warning: {gap}")
    if not profile.drafts:
        print("no part is marked draft")
        return 0
    print(f"{len(profile.drafts)} parts are marked draft — not from the operator's documents; have the operator")
    print("confirm each one, then remove its `draft: true`:")
    for where in profile.drafts:
        print(f"  {where}")
    return 0
