"""A name -> item mapping whose lookups fail with the list of valid names."""

from __future__ import annotations

from typing import Generic, TypeVar

Item = TypeVar("Item")


class Registry(dict[str, Item], Generic[Item]):
    """A dict of named items (models, datasets, tasks) with helpful errors.

    Args:
        kind: What the items are, for messages ("model", "dataset", ...).
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str, item: Item) -> Item:
        if name in self:
            raise ValueError(f"{self.kind.capitalize()} {name!r} is registered twice.")
        self[name] = item
        return item

    def lookup(self, name: str) -> Item:
        """The item called `name`; ValueError naming the valid choices otherwise."""
        try:
            return self[name]
        except KeyError:
            raise ValueError(
                f"Unknown {self.kind} {name!r}; valid choices: {', '.join(sorted(self))}."
            ) from None
