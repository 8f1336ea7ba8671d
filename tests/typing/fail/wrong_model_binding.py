"""``bind()`` of a model binding is typed like any method."""
from __future__ import annotations

from naja_atra import Application
from naja_atra.injection.model_binding import ModelBinding, bindings_of

app = Application()


class Person:
    def __init__(self, name: str) -> None:
        self.name = name


@bindings_of(app).model_binding(Person)
class PersonBinding(ModelBinding):
    def bind(self) -> Person:
        return Person(self.request.parameter.get("name", 0))  # expect-error: arg-type
