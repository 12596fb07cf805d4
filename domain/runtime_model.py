"""Which model names a runtime may report for the approved model, and why another one is not.

A runtime reports the model that served it as one string (OpenTelemetry's
`gen_ai.response.model` / `gen_ai.request.model`); the manifest names it as provider, name and
version. The reported string (trimmed, case-insensitive) matches only in these exact forms:

- `name` (the runtime did not say which version: accepted),
- `name:version`, `name@version` or `name-version`,
- any of those after `provider/` (as gateways such as LiteLLM and OpenRouter spell it).

Nothing is matched by prefix or similarity: `claude-sonnet-4` is not `claude-sonnet` (it may be
another version or another model, and Threshold does not guess). `name:other` and
`name@other` name another version of the approved model; every other string another model.
"""

from __future__ import annotations

from domain.manifest import ModelRef

VERSION_SEPARATORS = (":", "@", "-")


def normal(reported: str) -> str:
    """A reported model name as compared: trimmed and case-folded."""
    return reported.strip().casefold()


def accepted_names(model: ModelRef) -> frozenset[str]:
    """Every normalised spelling of the approved model a runtime may report."""
    name, version = normal(model.name), normal(model.version)
    bare = {name, *(f"{name}{sep}{version}" for sep in VERSION_SEPARATORS)}
    provider = normal(model.provider)
    return frozenset(bare | {f"{provider}/{spelling}" for spelling in bare})


def describe(model: ModelRef) -> str:
    """The approved model as messages name it: `provider/name version`."""
    return f"{model.provider}/{model.name} {model.version}"


def is_other_version(model: ModelRef, reported: str) -> bool:
    """Whether `reported` names the approved model at another version (`name:v`, `name@v`)."""
    text = normal(reported)
    provider = normal(model.provider) + "/"
    text = text.removeprefix(provider)
    name = normal(model.name)
    return any(text.startswith(f"{name}{sep}") for sep in (":", "@"))


def model_message(model: ModelRef, reported: str, *, production: bool) -> str:
    """Why `reported` is not the model in force, and what to do about it."""
    which = "approved" if production else "declared"
    if is_other_version(model, reported):
        return (
            f"model {reported} is not the {which} version of {describe(model)}: declare the new "
            "version first (threshold event model-change)"
        )
    fix = "a model swap needs revalidation" if production else "declare the model swap first"
    return (
        f"model {reported} is not the {which} {describe(model)}: {fix} "
        "(threshold event model-change)"
    )
