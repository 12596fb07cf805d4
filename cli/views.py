"""Detail views for people: a system, an approval request, a gate, an audit check."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.render import console, echo_json, joined, pending_roles, say, show, table, when


def _fields(pairs: list[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in pairs:
        grid.add_row(name, Text("-" if value in (None, "") else str(value)))
    return grid


def _governance(req: dict[str, Any], prod: dict[str, Any]) -> str:
    if req.get("applies"):
        return "applies"
    if req.get("exemption"):
        return f"exempt now ({req['exemption']}); applies in production: " + (
            "yes" if prod.get("applies") else "no"
        )
    return "does not apply" + (" (applies once in production)" if prod.get("applies") else "")


def system_detail(view: dict[str, Any]) -> None:
    """A system's state, governance, gaps and pending request."""
    manifest = view.get("manifest", {})
    req = view.get("requirements", {})
    prod = view.get("production_requirements", {})
    tier = req.get("risk_tier")
    if prod.get("risk_tier") not in (None, tier):
        tier = f"{tier} (production: {prod['risk_tier']})"
    pairs: list[tuple[str, Any]] = [
        ("state", view.get("state")),
        ("environment", manifest.get("environment")),
        ("risk tier", tier),
        ("production governance", _governance(req, prod)),
        ("approvers for production", joined(prod.get("required_roles", []))),
        ("owners", joined([manifest.get("business_owner"), manifest.get("technical_owner")])),
        ("version", view.get("version")),
        ("registered", when(view.get("registered_at"))),
        ("updated", when(view.get("updated_at"))),
    ]
    if view.get("last_reason"):
        pairs.append(("last reason", view["last_reason"]))
    pairs += recertification_fields(view)
    title = f"{view.get('system_id')} — {manifest.get('name', '')}"
    console.print(Panel(_fields(pairs), title=Text(title), title_align="left"))
    _triggers(req.get("triggers") or prod.get("triggers") or [])
    _gaps(req.get("gaps", []), prod.get("gaps", []))
    if view.get("pending_request"):
        request_detail(view["pending_request"])


def system_at(view: dict[str, Any]) -> None:
    """What the audit ledger shows was approved for a system at a past moment."""
    approved = view.get("approved_manifest") or {}
    pairs: list[tuple[str, Any]] = [
        ("at", when(view.get("at"))),
        ("state", view.get("state")),
        ("registered", when(view.get("registered_at"))),
        ("approved", when(view.get("approved_at")) if approved else "not approved yet"),
        ("approved by", joined(view.get("approved_by", []))),
        ("approval request", view.get("approval_request")),
        ("model", " ".join(str(v) for v in (approved.get("model") or {}).values())),
        ("credentials", joined(view.get("credentials", []))),
    ]
    title = f"{view.get('system_id')} at {view.get('at')}"
    console.print(Panel(_fields(pairs), title=Text(title), title_align="left"))


def recertification_fields(view: dict[str, Any]) -> list[tuple[str, Any]]:
    """Recertification standing, waivers in force and lapsed gaps, as detail rows."""
    pairs: list[tuple[str, Any]] = []
    recert = view.get("recertification")
    if recert:
        standing = f"cycle {recert.get('cycle')}, due {when(recert.get('due_at'))}"
        if recert.get("overdue_since"):
            standing += f" — OVERDUE since {when(recert['overdue_since'])}"
        if recert.get("request_id"):
            standing += f"; request {recert['request_id']} open"
        if recert.get("ticket"):
            standing += f"; ticket {recert['ticket']}"
        pairs.append(("recertification", standing))
        if recert.get("last_certified_at"):
            pairs.append(("last recertified", when(recert["last_certified_at"])))
    for exception in view.get("exceptions", []):
        if exception.get("status") in ("active", "pending"):
            pairs.append(
                (
                    f"waiver ({exception.get('status')})",
                    f"{exception.get('gap')} until {when(exception.get('until'))} "
                    f"({exception.get('request_id')}): {exception.get('reason')}",
                )
            )
    if view.get("lapsed_gaps"):
        pairs.append(("production held", "waiver ended: " + joined(view["lapsed_gaps"])))
    return pairs


def _triggers(triggers: list[dict[str, Any]]) -> None:
    if triggers:
        rows = [(t.get("code"), t.get("reason")) for t in triggers]
        show(table(("trigger", "why governance applies"), rows))


def _gaps(current: list[dict[str, Any]], production: list[dict[str, Any]]) -> None:
    """Gaps now and those that block promotion (production requirements)."""
    blocking = {(g.get("code"), g.get("field")) for g in production}
    rows = [(g.get("field"), _gap(g), "blocking promotion") for g in production] + [
        (g.get("field"), _gap(g), "")
        for g in current
        if (g.get("code"), g.get("field")) not in blocking
    ]
    if rows:
        show(table(("field", "gap", "effect"), rows, title="Gaps"))
    else:
        say("no gaps", "green")


def _gap(gap: dict[str, Any]) -> str:
    """A gap's message, prefixed with its OWASP NHI id when it has one."""
    nhi = gap.get("nhi")
    return f"[{nhi}] {gap.get('message')}" if nhi else str(gap.get("message"))


def request_detail(request: dict[str, Any]) -> None:
    """An approval request: status, roles awaited and who may fill them, decisions."""
    awaiting = pending_roles(request) if request.get("status") == "pending" else []
    pairs: list[tuple[str, Any]] = [
        ("system", request.get("system_id")),
        ("kind", request.get("kind")),
        ("status", request.get("status")),
        ("summary", request.get("summary")),
        ("requested by", request.get("requester")),
        ("ticket", request.get("ticket")),
        ("opened", when(request.get("opened_at"))),
        ("awaiting", joined(awaiting)),
    ]
    eligible = request.get("eligible", {})
    pairs += [(f"  {role}", joined(eligible.get(role, []))) for role in awaiting]
    if request.get("status") == "pending":
        pairs += [
            ("escalates", when(request.get("escalate_at"))),
            ("expires", when(request.get("expires_at"))),
        ]
    else:
        pairs += [("closed", when(request.get("closed_at"))), ("reason", request.get("reason"))]
    parts: list[Any] = [_fields(pairs)]
    decisions = request.get("decisions", [])
    if decisions:
        parts.append(_decisions(decisions))
    title = Text(f"request {request.get('id')}")
    console.print(Panel(Group(*parts), title=title, title_align="left"))


def _decisions(decisions: list[dict[str, Any]]) -> Table:
    rows = [
        (
            when(d.get("at")),
            d.get("principal"),
            d.get("role"),
            "approve" if d.get("approve") else "reject",
            d.get("comment"),
            d.get("via"),
        )
        for d in decisions
    ]
    return table(("at", "who", "role", "decision", "comment", "via"), rows, title="Decisions")


def gate(result: dict[str, Any]) -> None:
    """ALLOWED or DENIED, then each reason."""
    allowed = bool(result.get("allowed"))
    verdict = "ALLOWED" if allowed else "DENIED"
    say(
        f"{verdict}: {result.get('system_id')} → {result.get('environment')}"
        f" (state: {result.get('state')}, scope: {result.get('scope', 'approved')})",
        "bold green" if allowed else "bold red",
    )
    for reason in result.get("reasons", []):
        say(f"  - {reason}")


def verify(report: dict[str, Any]) -> None:
    """The chain check: intact or every broken chain, the erasures, the checkpoint's verdict."""
    counts = f"{report.get('entries_checked', 0)} entries in {report.get('chains_checked', 0)}"
    ledgers = report.get("ledgers", {})
    if ledgers:
        counts += (
            " ("
            + ", ".join(
                f"{name}: {part.get('entries_checked', 0)}" for name, part in ledgers.items()
            )
            + ")"
        )
    broken = report.get("broken") or [b for b in [report.get("first_broken")] if b]
    if broken:
        say(f"audit ledger BROKEN ({counts} chains checked)", "bold red")
        for item in broken:
            say(
                f"  broken: {item.get('ledger', 'audit')} ledger, system {item.get('chain_id')} "
                f"seq {item.get('seq')} (entry id {item.get('entry_id')}): {item.get('problem')}"
            )
    else:
        say(f"audit ledger intact: {counts} chains verified", "bold green")
    _erasures(report.get("erased") or [])
    checkpoint = report.get("checkpoint")
    if isinstance(checkpoint, dict):
        _checkpoint(checkpoint)


def _erasures(erased: list[dict[str, Any]]) -> None:
    """Each erased entry and the ledger entry recording its erasure."""
    if not erased:
        return
    say(f"entries erased: {len(erased)}")
    for item in erased:
        say(
            f"  {item.get('ledger', 'audit')} ledger, system {item.get('chain_id')} seq "
            f"{item.get('seq')}: erased {item.get('erased_at')} by {item.get('erased_by')} "
            f"(erasure entry seq {item.get('erasure_seq')})"
        )


def _checkpoint(checked: dict[str, Any]) -> None:
    """Whether the checkpoint's signed heads still hold."""
    what = (
        f"checkpoint of {checked.get('created_at')} (key {checked.get('key_id')}, "
        f"{checked.get('heads_checked')} heads)"
    )
    if checked.get("ok"):
        say(f"{what}: every signed head still holds", "bold green")
        return
    say(f"{what}: REWRITTEN since it was signed", "bold red")
    for item in checked.get("problems") or []:
        say(
            f"  {item.get('ledger')} ledger, system {item.get('chain_id')} seq {item.get('seq')}: "
            f"{item.get('problem')}"
        )


def command_answer(result: dict[str, Any], as_json: bool) -> None:
    """A command's answer: the JSON as it came when asked, else the human summary."""
    if as_json:
        echo_json(result)
    else:
        command_result(result)


def command_result(result: dict[str, Any]) -> None:
    """What a system command did: its message and the system's state now."""
    system = result.get("system", {})
    say(str(result.get("message", "")))
    say(f"{system.get('system_id')}: {system.get('state')}", "bold")
    request = system.get("pending_request")
    if request and request.get("status") == "pending":
        say(f"pending request {request.get('id')} awaits: {joined(pending_roles(request))}")


def event_result(result: dict[str, Any]) -> None:
    """What an event did: duplicate or applied, the message, and any open revalidation."""
    prefix = "already applied (same source and id): " if result.get("duplicate") else ""
    say(f"{prefix}{result.get('message', '')}")
    say(f"{result.get('subject')}: {result.get('state')}", "bold")
    if result.get("material") and result.get("request_id"):
        say(f"revalidation {result.get('request_id')} must be approved before the declared scope")
