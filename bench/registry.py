"The one place a task or a contestant is declared: a registry of named entries, read by every plan, unit, score and table."
from __future__ import annotations
from collections.abc import Mapping

__all__ = ['Registry']

class Registry(Mapping):
    "Entries by their `name`, in the order given; `plus` and `only` make new registries and leave this one as it is"
    def __init__(self, *entries):
        self._entries = {}
        for e in entries:
            if e.name in self._entries: raise ValueError(f"{e.name!r} is declared twice")
            self._entries[e.name] = e

    def __getitem__(self, name):
        try: return self._entries[name]
        except KeyError: raise KeyError(f"{name!r} is not registered; the registry has {list(self._entries)}") from None
    def __iter__(self): return iter(self._entries)
    def __len__(self): return len(self._entries)
    def __repr__(self): return f"Registry({', '.join(self._entries)})"

    def plus(self, *entries) -> Registry:
        "A new registry: these entries, then `entries`"
        return Registry(*self.values(), *entries)

    def only(self, *names) -> Registry:
        "A new registry of the entries `names`, in this registry's order"
        for n in names: self[n]  # an unknown name raises here, naming what is registered
        return Registry(*(e for n, e in self.items() if n in names))

    def where(self, **attrs) -> list:
        "The entries whose attributes equal `attrs`, in order"
        return [e for e in self.values() if all(getattr(e, k) == v for k, v in attrs.items())]

    def names(self, **attrs) -> tuple:
        "The names of the entries whose attributes equal `attrs`, in order"
        return tuple(e.name for e in self.where(**attrs))
