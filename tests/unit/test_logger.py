"""naja_atra.utils.logger: levels, handlers, independent factories, custom logger."""
from __future__ import annotations

import contextlib
import io
import logging
import uuid
from typing import Iterator

import pytest

import naja_atra.utils.logger as logger


class Collect(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture(autouse=True)
def restore_default_factory() -> Iterator[None]:
    """The default factory is process-wide: put its level and handlers back after each test."""
    factory = logger.get_logger_factory()
    level, handlers = factory.log_level, factory.handlers
    yield
    logger.set_custom_logger(None)
    factory.log_level = level
    factory.set_handler(handlers[0])
    for handler in handlers[1:]:
        factory.add_handler(handler)


def unique() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def test_default_logger_is_info_and_on_stderr() -> None:
    log = logger.get_logger(unique())
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        log.info("hello %s", "world")
        log.debug("hidden")
    out = buffer.getvalue()
    assert out.count("\n") == 1  # printed once, debug filtered
    assert f"]-[{log.name}]-INFO: hello world" in out
    assert out.startswith("[")
    assert logger.get_logger_factory().log_level == "INFO"


def test_default_tag_names() -> None:
    assert logger.get_logger().name == "naja_atra"
    assert logger.get_logger("svc").name == "naja_atra.svc"
    assert logger.get_logger("naja_atra.server").name == "naja_atra.server"
    assert logger.get_logger("svc") is logger.get_logger("svc")
    # stdlib children of "naja_atra" (framework modules' __name__) belong to the default factory
    assert logging.getLogger("naja_atra.some.module").getEffectiveLevel() == logging.INFO


def test_set_level_accepts_names_and_numbers() -> None:
    collect = Collect()
    logger.set_handler(collect)
    log = logger.get_logger(unique())
    log.debug("d1")
    logger.set_level("debug")
    log.debug("d2")
    logger.set_level(logging.WARNING)
    log.info("i1")
    log.warning("w1")
    logger.set_level("WARN")
    assert logger.get_logger_factory().log_level == "WARNING"
    assert collect.messages == ["d2", "w1"]


def test_bad_level_fails_loudly() -> None:
    with pytest.raises(ValueError):
        logger.set_level("LOUD")
    with pytest.raises(TypeError):
        logger.set_level(True)


def test_disabled_level_does_no_formatting() -> None:
    class Boom:
        def __str__(self) -> str:
            raise AssertionError("formatted although disabled")

    log = logger.get_logger(unique())
    logger.set_handler(Collect())
    log.debug("%s", Boom())  # must not touch the argument
    assert not log.isEnabledFor(logging.DEBUG)


def test_set_add_remove_handler() -> None:
    first, second = Collect(), Collect()
    log = logger.get_logger(unique())
    logger.set_handler(first)  # replaces the stderr handler
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        log.info("a")
        logger.add_handler(second)
        logger.add_handler(second)  # twice: still one copy
        log.info("b")
        logger.remove_handler(first)
        log.info("c")
        logger.remove_handler(first)  # not there: no error
    assert buffer.getvalue() == ""
    assert first.messages == ["a", "b"]
    assert second.messages == ["b", "c"]
    assert logger.get_logger_factory().handlers == [second]


def test_factories_are_independent() -> None:
    name_a, name_b = unique(), unique()
    fac_a = logger.get_logger_factory(name_a)
    fac_b = logger.get_logger_factory(name_b)
    assert fac_a is logger.get_logger_factory(name_a)
    assert fac_a is not fac_b is not logger.get_logger_factory()
    col_a, col_b, col_default = Collect(), Collect(), Collect()
    fac_a.set_handler(col_a)
    fac_b.set_handler(col_b)
    logger.set_handler(col_default)
    fac_a.log_level = "DEBUG"
    assert fac_b.log_level == "INFO"

    log_a = logger.get_logger("svc", name_a)
    assert log_a is fac_a.get_logger("svc")
    log_b = fac_b.get_logger("svc")
    log_default = logger.get_logger("svc")
    assert len({log_a.name, log_b.name, log_default.name}) == 3
    log_a.debug("a-debug")
    log_b.debug("b-debug")
    log_b.info("b-info")
    log_default.info("default-info")
    assert col_a.messages == ["a-debug"]
    assert col_b.messages == ["b-info"]
    assert col_default.messages == ["default-info"]  # nothing leaked from the named factories


def test_factory_names_cannot_nest() -> None:
    # "x.y" must not be a child of factory "x", nor collide with "x_y"
    base = unique()
    outer = logger.get_logger_factory(base)
    inner = logger.get_logger_factory(base + ".y")
    col_outer, col_inner = Collect(), Collect()
    outer.set_handler(col_outer)
    inner.set_handler(col_inner)
    inner.get_logger("z").info("inner")
    outer.get_logger("y").info("outer-y")
    assert col_inner.messages == ["inner"]
    assert col_outer.messages == ["outer-y"]
    assert logger.get_logger_factory(base + "_y") is not inner


def test_anonymous_factory() -> None:
    one, two = logger.LoggerFactory(log_level="DEBUG"), logger.LoggerFactory()
    assert one.name != two.name
    col = Collect()
    one.set_handler(col)
    one.get_logger("x").debug("dbg")
    assert col.messages == ["dbg"]
    assert two.log_level == "INFO"


def test_custom_format() -> None:
    factory = logger.LoggerFactory(log_format="%(levelname)s|%(message)s")
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        factory.get_logger("x").warning("careful")
    assert buffer.getvalue() == "WARNING|careful\n"


def test_set_custom_logger_redirects_every_factory() -> None:
    own, custom_records = Collect(), Collect()
    logger.set_handler(own)
    named = logger.get_logger_factory(unique())
    named_own = Collect()
    named.set_handler(named_own)
    custom = logging.getLogger(f"custom.{unique()}")
    custom.propagate = False
    custom.addHandler(custom_records)
    try:
        logger.set_custom_logger(custom)
        logger.get_logger("svc").info("one")
        named.get_logger("svc").info("two")
        named.get_logger("svc").debug("filtered by the factory level")
        logger.add_handler(Collect())  # reconfiguring keeps the redirection
        logger.get_logger("svc").info("three")
        assert custom_records.messages == ["one", "two", "three"]
        assert own.messages == [] and named_own.messages == []

        custom.setLevel(logging.WARNING)  # an explicit level on the custom logger applies
        logger.get_logger("svc").info("dropped")
        assert custom_records.messages == ["one", "two", "three"]
    finally:
        logger.set_custom_logger(None)
        custom.removeHandler(custom_records)
    logger.get_logger("svc").info("four")
    assert own.messages == ["four"]


def test_custom_logger_cannot_be_a_factory_logger() -> None:
    with pytest.raises(ValueError):
        logger.set_custom_logger(logger.get_logger("loop"))
