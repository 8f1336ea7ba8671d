"""Hook names are checked at build: an implementation of a hook nobody specified fails the
build with a message naming the plugin and the hook, marked with ``@hookimpl`` or not."""
from __future__ import annotations

import types
from typing import Any, Optional, Sequence

import pytest

from naja_atra import Application, ConfigurationError, hookimpl
from naja_atra.routes import Route, Router


def test_a_misspelled_marked_hook_fails_the_build_naming_plugin_and_hook() -> None:
    class Typo:
        @hookimpl
        def naja_atra_make_routr(self, app: Application, routes: Sequence[Route]) -> Optional[Router]:
            return None

    app = Application(load_entry_points=False)
    app.register(Typo(), name="my-typo")
    with pytest.raises(ConfigurationError) as info:
        app.build()
    message = str(info.value)
    assert "'my-typo'" in message and "'naja_atra_make_routr'" in message
    assert "did you mean 'naja_atra_make_router'" in message


def test_a_misspelled_unmarked_function_in_a_module_plugin_fails_too() -> None:
    module = types.ModuleType("typo_plugin")

    def naja_atra_configur(app: Application) -> None:
        pass

    module.naja_atra_configur = naja_atra_configur  # type: ignore[attr-defined]
    app = Application(load_entry_points=False)
    app.register(module, name="typo-module")
    with pytest.raises(ConfigurationError, match="'typo-module' implements 'naja_atra_configur'.*naja_atra_configure"):
        app.build()


def test_an_unmarked_hook_with_the_right_name_is_an_implementation() -> None:
    seen: list[Any] = []

    class Plain:
        def naja_atra_configure(self, app: Application) -> None:
            seen.append(app)

            @app.route("/added")
            def added() -> str:
                return "by the plugin"

    app = Application(load_entry_points=False)
    app.register(Plain())
    assert app.test_client().get("/added").text == "by the plugin"
    assert seen == [app]


def test_an_optional_hook_of_an_absent_plugin_is_allowed() -> None:
    class Optional_:
        @hookimpl(optionalhook=True)
        def otherplugin_something(self) -> None:
            pass

    app = Application(load_entry_points=False)
    app.register(Optional_())
    app.build()  # no error


def test_a_plugin_registered_after_a_build_is_checked_at_the_next_build() -> None:
    class Late:
        @hookimpl
        def naja_atra_lifespn(self, app: Application) -> None:
            pass

    app = Application(load_entry_points=False)

    @app.route("/")
    def index() -> str:
        return "ok"

    assert app.test_client().get("/").text == "ok"
    app.register(Late(), name="late")
    with pytest.raises(ConfigurationError, match="'late' implements 'naja_atra_lifespn'"):
        app.build()
