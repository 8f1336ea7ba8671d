"""The markers and aliases at run time: typed overloads for mypy, but the objects 1.x
code expects (``Parameter`` is a ``str`` holding its value), and annotations that
``get_type_hints`` resolves even under ``from __future__ import annotations``."""
from __future__ import annotations

import copy
import pickle
import typing
from typing import Any, List, Optional

import pytest
from typing_extensions import Annotated, get_args, get_origin

from naja_atra import Application, ConfigurationError, Cookie, Header, Parameter, Parameters, PathValue
from naja_atra.injection.aliases import Body, FromCookie, FromHeader, FromPath, Query
from naja_atra.injection.builtin import builtin_resolver
from naja_atra.injection.markers import Marker, Source
from naja_atra.injection.params import Param, controller_params, split_annotated


def test_parameter_is_a_str_holding_its_default() -> None:
    p: Any = Parameter("page", default=1)
    assert isinstance(p, Parameter) and isinstance(p, str) and isinstance(p, Marker)
    assert (str(p), p.name, p.default, p.required) == ("1", "page", 1, False)
    spec: Any = Parameter("name", default="KEIJACK")
    assert spec == "KEIJACK"
    assert Parameter("x") == "" and Parameter("x", default=None) == ""
    required: Any = Parameter("tk", required=True)
    assert required.required is True and required.name == "tk"
    keyword: Any = Parameter(default=2.5, name="ratio")
    assert (keyword.name, keyword.default) == ("ratio", 2.5)


@pytest.mark.parametrize("marker", [Parameter("p", default="v", required=True), Header("X-H", default="h"),
                                    PathValue("pv", "value")])
def test_markers_copy_and_pickle(marker: Any) -> None:
    for clone in (copy.deepcopy(marker), pickle.loads(pickle.dumps(marker))):
        assert type(clone) is type(marker)
        assert clone == marker and clone.name == marker.name


def test_header_pathvalue_parameters_cookie() -> None:
    h: Any = Header("X-Count", default=0)
    assert isinstance(h, Header) and h == "0" and h.default == 0
    pv: Any = PathValue("id")
    assert isinstance(pv, PathValue) and pv == "" and pv.name == "id"
    tags: Any = Parameters("tag", default=["a"], required=True)
    assert isinstance(tags, Parameters) and tags == ["a"]
    assert (tags.name, tags.required) == ("tag", True)
    assert Parameters() == []
    sid = Cookie("sid", default="x")
    assert (sid.key, sid.value, sid.name, sid.required) == ("sid", "x", "sid", False)


def test_source_is_a_hashable_marker() -> None:
    assert Source("query") == Source("query") and hash(Source("query")) == hash(Source("query"))
    assert Source("query") != Source("header") and Source("query", "a") != Source("query")
    assert repr(Source("path", "id")) == "Source('path', 'id')"
    with pytest.raises(ValueError, match="unknown source"):
        Source("nowhere")


@pytest.mark.parametrize(("alias", "kind"), [(Query, "query"), (FromHeader, "header"), (FromCookie, "cookie"),
                                             (FromPath, "path"), (Body, "body")])
def test_aliases_are_annotated(alias: Any, kind: str) -> None:
    tp = alias[int]
    assert get_origin(tp) is Annotated
    assert get_args(tp) == (int, Source(kind))
    assert split_annotated(tp) == (int, (Source(kind),))


def test_split_annotated_finds_metadata_inside_optional() -> None:
    # What get_type_hints makes of ``x: Query[int] = None`` on Python < 3.11.
    wrapped = Optional[Query[int]]
    assert split_annotated(wrapped) == (Optional[int], (Source("query"),))
    assert split_annotated(Optional[int]) == (Optional[int], ())
    assert split_annotated(int) == (int, ())


def controller(page: Query[int] = 1, ids: Query[List[int]] = [], ua: FromHeader[str] = "",  # noqa: B006
               size: Annotated[int, Parameter("page-size")] = 20, plain: Optional[int] = None,
               name: str = Parameter("name")) -> None:
    """Annotations are strings here (``from __future__ import annotations``)."""


def test_string_annotations_resolve_with_their_metadata() -> None:
    params = {p.name: p for p in controller_params(controller)}
    assert (params["page"].annotation, params["page"].metadata) == (int, (Source("query"),))
    assert params["ids"].annotation == List[int]
    assert params["ua"].metadata == (Source("header"),)
    size = params["size"]
    assert size.annotation is int and isinstance(size.metadata[0], Parameter) and size.metadata[0].name == "page-size"
    assert params["plain"].annotation == Optional[int] and params["plain"].metadata == ()
    assert params["name"].default.name == "name"


def half_resolvable(a: int, b: Undefined, c: Query[int] = 1) -> None:  # type: ignore[name-defined]  # noqa: F821
    """One annotation that does not resolve must not lose the others."""


def test_an_unresolvable_annotation_leaves_the_others_resolved() -> None:
    params = {p.name: p for p in controller_params(half_resolvable)}
    assert params["a"].annotation is int
    assert params["b"].annotation == "Undefined"
    assert (params["c"].annotation, params["c"].metadata) == (int, (Source("query"),))
    assert builtin_resolver(params["b"]) is None  # the build names the parameter


def test_spec_name_equals_name2() -> None:
    """``name`` (a plain name) and ``name2=Parameter("name", ...)`` bind the same value."""
    app = Application()

    @app.route("/say_hello")
    def my_ctrl2(name: Any, name2: Any = Parameter("name", default="KEIJACK")) -> str:
        assert name == name2
        assert isinstance(name2, Parameter) and name2.name == "name"
        return f"{name}, {name2}"

    from naja_atra.testing import TestClient

    assert TestClient(app).get("/say_hello?name=kj").text == "kj, kj"


@pytest.mark.parametrize(("annotation", "default", "message"), [
    (int, Parameter("page", default="abc"), "default 'abc' is not a valid int"),
    (int, Header("X-N", default="x"), "default 'x' is not a valid int"),
    (typing.List[int], PathValue("p"), "no conversion from a string to list\\[int\\]"),
])
def test_a_marker_default_that_does_not_convert_fails_the_build(annotation: Any, default: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        builtin_resolver(Param("page", annotation, default))


def test_typed_marker_defaults_are_converted_at_build() -> None:
    """``page: int = Parameter("page", default="1")`` falls back to ``1``, not ``"1"``."""
    from naja_atra.testing import TestClient

    app = Application()

    @app.route("/p")
    def p(page: int = Parameter("page", default="1"),  # type: ignore[assignment]  # 1.x style: a str default
          n: Optional[int] = Parameter("n", default=None),
          missing: Any = Parameter("m", default=None)) -> dict[str, Any]:
        return {"page": page, "n": n, "missing": missing}

    assert TestClient(app).get("/p").json() == {"page": 1, "n": None, "missing": None}


def test_markers_of_different_kinds_are_never_equal() -> None:
    """Both are the string "", yet ``Annotated[int, PathValue()]`` and
    ``Annotated[int, Header("X-Count")]`` must stay two types: Python 3.10's ``typing`` cache
    looks them up by equality (it once served the header's annotation for the path value)."""
    path, header = PathValue(), Header("X-Count")
    assert path == "" and header == ""
    assert path != header and not (path == header)
    assert get_args(Annotated[int, header])[1] is header
    assert get_args(Annotated[int, path])[1] is path
