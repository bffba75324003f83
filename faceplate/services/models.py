"""The models users may pick for a conversation (FACEPLATE_LLM_MODELS), the default first."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from faceplate.errors import Invalid


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    default: bool


class ModelList(msgspec.Struct, frozen=True, kw_only=True):
    models: list[ModelInfo]


class Models:
    """The offered models; the first is the default, used for a conversation whose model is null."""

    def __init__(self, names: Sequence[str]) -> None:
        if not names:
            raise ValueError("at least one model must be offered")
        self.names: tuple[str, ...] = tuple(names)
        self.default = self.names[0]
        self.listing = ModelList(
            models=[ModelInfo(id=name, default=name == self.default) for name in self.names]
        )

    def check(self, name: str | None) -> str | None:
        """`name` if it is offered (or None, the default); Invalid naming the field otherwise."""
        if name is not None and name not in self.names:
            raise Invalid(f"model: {name[:100]!r} is not one of GET /v1/models")
        return name
