"""The README's five-minute tour, run command by command against a live stack.

Convention (the README's ```console blocks): a line starting with `$ ` is a command (a
trailing `\\` continues it on the next line); the lines after it, up to the next blank line
or command, are its expected output (stdout and stderr together). In an expected line `...`
stands for any text; a line that is only `...` stands for any number of lines; `<token>`,
`<n>` and `<time>` stand for a token value, a number and a timestamp. A command ending in
`# exit N` must exit with N; every other command must exit 0. Each command runs in bash in
a directory holding `examples/`, `.venv` and `.threshold/admin-token`, with `THRESHOLD_URL`
pointing at a real API server; exported variables carry over to the next command.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.harness import ROOT, make_settings, running_stack, serve_api

README = ROOT / "README.md"
ADMIN = "admin@threshold.local"
COMMAND_TIMEOUT_SECONDS = 30
TIMED_OUT = 124
EXIT = re.compile(r"\s#\s*exit\s+(\d+)\s*$")
PLACEHOLDERS = {
    "<token>": r"thr_\S+",
    "<n>": r"\d+",
    "<time>": r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d| UTC)?",
}


@dataclass(frozen=True)
class Step:
    """One documented command: where it is, what to run, what it prints and exits with."""

    line: int
    command: str
    expected: tuple[str, ...]
    exit_code: int


def console_blocks(text: str) -> list[tuple[int, list[str]]]:
    """The ```console fenced blocks: (line number of their first line, their lines)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if current is None and line.strip() == "```console":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def parse_block(start: int, lines: list[str]) -> list[Step]:
    """The commands of one console block with their expected output and exit codes."""
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("$ "):
            index += 1
            continue
        line_no, parts = start + index, [lines[index][2:]]
        while parts[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            parts.append(lines[index])
        command = "\n".join(parts)
        index += 1
        expected: list[str] = []
        while index < len(lines) and lines[index].strip() and not lines[index].startswith("$ "):
            expected.append(lines[index].rstrip())
            index += 1
        found = EXIT.search(parts[-1])
        code = int(found.group(1)) if found else 0
        steps.append(Step(line_no, command, tuple(expected), code))
    return steps


def parse_tour(text: str) -> list[Step]:
    """Every documented command of every console block, in order."""
    return [step for start, lines in console_blocks(text) for step in parse_block(start, lines)]


@cache
def line_pattern(expected: str) -> re.Pattern[str]:
    """An expected line as a regex: `...` is any text, placeholders their pattern."""
    pattern = re.escape(expected).replace(re.escape("..."), ".*?")
    for placeholder, regex in PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape(placeholder), regex)
    return re.compile(pattern)


def output_matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Whether the actual lines are what the expected lines describe (a `...` line: any lines)."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return (
            j < len(actual)
            and line_pattern(expected[i]).fullmatch(actual[j]) is not None
            and match(i + 1, j + 1)
        )

    return match(0, 0)


def output_lines(raw: bytes) -> list[str]:
    """A command's output as lines without trailing blanks or terminal escapes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw.decode("utf-8", errors="replace"))
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def tour_directory(root: Path, admin_token: str) -> Path:
    """A working directory shaped like a checkout after `make run`."""
    work = root / "tour"
    (work / ".threshold").mkdir(parents=True)
    (work / ".threshold" / "admin-token").write_text(admin_token + "\n")
    (work / "examples").symlink_to(ROOT / "examples")
    (work / ".venv").symlink_to(Path(sys.prefix))
    return work


def shell_env(url: str, state: Path) -> dict[str, str]:
    """A clean environment: no THRESHOLD_* from the test run, the API at `url`."""
    state.write_text("")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(state.parent),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "100",
        "PYTHONUNBUFFERED": "1",
        "THRESHOLD_URL": url,
    }


async def run_step(step: Step, work: Path, env: dict[str, str], state: Path) -> tuple[int, bytes]:
    """Run one command in bash with the exported variables of the commands before it."""
    script = f'source "{state}"\n{step.command}\nrc=$?\nexport -p > "{state}"\nexit $rc\n'
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=work,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return TIMED_OUT, f"(no answer within {COMMAND_TIMEOUT_SECONDS} s)".encode()
    return process.returncode or 0, out


def drift(step: Step, code: int, actual: list[str]) -> str | None:
    """How a command's result differs from the README, or None when it is as documented."""
    if code == step.exit_code and output_matches(step.expected, actual):
        return None
    return (
        f"README.md:{step.line}: $ {step.command}\n"
        f"  exit: documented {step.exit_code}, got {code}\n"
        "  documented output:\n"
        + "".join(f"    | {line}\n" for line in step.expected)
        + "  actual output:\n"
        + "".join(f"    | {line}\n" for line in actual)
    )


def test_parser_reads_commands_outputs_and_exit_codes() -> None:
    """A console block yields each command with its output lines and documented exit code."""
    text = "```console\n$ threshold a \\\n  --b  # exit 1\nrefused: no\n\n$ echo hi\nhi\n```\n"
    steps = parse_tour(text)
    assert [(s.command, s.expected, s.exit_code) for s in steps] == [
        ("threshold a \\\n  --b  # exit 1", ("refused: no",), 1),
        ("echo hi", ("hi",), 0),
    ]


def test_matcher_rejects_drifted_output() -> None:
    """`...` and placeholders absorb ids and wording around them; a changed word still fails."""
    expected = ("DENIED: x → production (state: ...)", "...", "request x-<n> is approved")
    assert output_matches(
        expected, ["DENIED: x → production (state: pilot)", "request x-1 is approved"]
    )
    assert output_matches(
        expected, ["DENIED: x → production (state: a)", "a", "b", "request x-12 is approved"]
    )
    assert not output_matches(
        expected, ["ALLOWED: x → production (state: pilot)", "request x-1 is approved"]
    )
    assert not output_matches(
        expected, ["DENIED: x → production (state: a)", "request x-1 is rejected"]
    )
    assert not output_matches(("one line",), ["one line", "an undocumented extra line"])


def test_readme_has_a_tour() -> None:
    """The README documents a tour of at least a dozen commands, some of them refused."""
    steps = parse_tour(README.read_text(encoding="utf-8"))
    assert len(steps) >= 12
    assert {step.exit_code for step in steps} >= {0, 1, 2}


@pytest.mark.devserver
async def test_readme_tour_is_true(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """Every command of the README's tour prints what the README shows and exits as it says."""
    steps = parse_tour(README.read_text(encoding="utf-8"))
    settings = make_settings(f"sqlite:///{tmp_path}/threshold.db", tmp_path)
    async with running_stack(dev_env.client, settings) as stack:
        assert stack.app is not None
        async with serve_api(stack.app, lifespan="off") as url:
            work = tour_directory(tmp_path, stack.tokens[ADMIN])
            state = tmp_path / "exports.sh"
            env = shell_env(url, state)
            problems = []
            for step in steps:
                code, out = await run_step(step, work, env, state)
                problem = drift(step, code, output_lines(out))
                if problem:
                    problems.append(problem)
    assert not problems, "the README's tour drifted:\n\n" + "\n".join(problems)
