"""Model bindings: a typed ``bind()``, registered on an application's registry."""
from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from naja_atra import Application
from naja_atra.injection.model_binding import ModelBinding, ModelBindingRegistry, bindings_of

app = Application()
registry: ModelBindingRegistry = bindings_of(app)


class Person:
    def __init__(self, name: str) -> None:
        self.name = name


@registry.model_binding(Person)
class PersonBinding(ModelBinding):
    def bind(self) -> Person:
        return Person(self.request.parameter.get("name", self.arg_name))


@registry.default_model_binding
class Fallback(ModelBinding):
    async def bind(self) -> Any:
        return self.default_value


@registry.default_model_binding()
class Fallback2(ModelBinding):
    pass


assert_type(PersonBinding, type[PersonBinding])


@app.route("/person")
def person(p: Person) -> str:
    return p.name
