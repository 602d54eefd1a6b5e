"""What every part of a scenario file shares: ids, chat lines, ``{variable}`` references, and the base model
that makes unknown keys errors and strips strings."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

Id = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        min_length=2,
        max_length=80,
        description="Identifier: lower-case letters, digits, '-' and '_', starting with a letter or digit.",
    ),
]
Line = Annotated[str, Field(min_length=1, max_length=1000, description="One chat message.")]


class Authored(BaseModel):
    """Base for everything a person writes: unknown keys are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)
