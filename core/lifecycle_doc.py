"""Writes docs/lifecycle.md from the transition table: `python -m core.lifecycle_doc`."""

from __future__ import annotations

from pathlib import Path

from domain.transitions import EDGES, REFUSALS, Target, mermaid

DOC = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"

INTRO = """# The lifecycle

Generated from `domain/transitions.py` by `python -m core.lifecycle_doc`; a test fails when
this page and the table disagree. The table is the only place a system's state changes:
workflows name the event that happened and the table answers the next state or refuses.

Two targets are resolved from facts. **STANDING** is where a production system stands after
the event: `overdue` if its recertification is overdue, else `revalidation_pending` while a
revalidation is open, else `recertification_due` once the cycle's request opened, else
`production`. **PREVIOUS** is the state a containment interrupted (`pilot` if unknown).
Guards that depend on more than the state (a pending request, who holds a role, blocking
gaps) live in the update validators, which run before anything is written.
"""


def render() -> str:
    """The whole page: introduction, diagram, every edge, every refusal."""
    rows = [
        f"| `{edge.source.value}` | `{edge.event.value}` | "
        + (
            f"**{edge.target.value}**"
            if isinstance(edge.target, Target)
            else f"`{edge.target.value}`"
        )
        + " |"
        for edge in EDGES
    ]
    refusals = [f"| `{event.value}` | {text} |" for event, text in REFUSALS.items()]
    return "\n".join(
        [
            INTRO,
            "```mermaid",
            mermaid() + "```",
            "",
            "## Edges",
            "",
            "| from | event | to |",
            "|---|---|---|",
            *rows,
            "",
            "## Refusals (any other state)",
            "",
            "| event | message |",
            "|---|---|",
            *refusals,
            "",
        ]
    )


def main() -> None:
    """Rewrite docs/lifecycle.md."""
    DOC.write_text(render())
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
