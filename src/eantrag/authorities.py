"""The ids an `--authority` option may take, for the commands of every context.

The directory of authorities belongs to routing; the e-Akte's and the archive's commands may not
import it. The composition root hands its lister over (`provide`), and those commands ask here.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from eantrag.settings import Settings

_lister: Callable[[Settings], list[str]] | None = None


def provide(lister: Callable[[Settings], list[str]]) -> None:
    global _lister
    _lister = lister


def require_known_authority(authority_id: str) -> None:
    """Refuse an authority id the directory does not hold, naming the ones it does — a typo
    would otherwise find no cases, or make a token that sees nothing."""
    if _lister is None:
        return  # no directory wired in (a context's commands on their own)
    known = _lister(Settings())
    if authority_id in known:
        return
    if not known:
        raise typer.BadParameter(
            f"unknown authority {authority_id!r}: the directory holds none yet "
            "(eantrag directory import FILE)",
            param_hint="'--authority'",
        )
    raise typer.BadParameter(
        f"unknown authority {authority_id!r}; known: {', '.join(known)} "
        "(eantrag directory authorities)",
        param_hint="'--authority'",
    )
