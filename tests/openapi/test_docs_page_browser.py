"""The docs page in a real browser: headless Chromium driven by selenium against an application
on a real server. The page loads the document, renders every operation (grouped by tag,
expandable, with its parameters, body and responses), and its "Try it" form sends requests
whose answers it shows. Also against a hand-written OpenAPI 3.1 document (references,
path-level parameters, a recursive schema, servers), a document that fails to load, and an
application mounted below a prefix under uvicorn.

Skipped only when Chromium or its driver is not installed (``.ci/run`` installs both:
Debian's ``chromium`` and ``chromium-driver``).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional

import pytest
from openapi_spec_validator import validate
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from naja_atra import Application, FromHeader, Query, hookimpl

from ..e2e.test_openapi_served_e2e import mount, uvicorn_serving
from ..support import Client, serving

WebDriver = webdriver.Chrome  # get_log (the console) is Chromium's
WAIT = 20.0  # bound of every wait on the browser (a busy 2-core machine starts Chromium slowly)
# Debian's packages (chromium, chromium-driver) put both in /usr/bin, found also off PATH.
CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or shutil.which("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module, quit afterwards."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium-manager then never looks for one on the network.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


@dataclass
class Item:
    """An item for sale."""

    name: str
    price: float
    tags: List[str] = field(default_factory=list)


def shop(**options: Any) -> Application:
    app = Application(title="Shop", version="1.0.0", description="Items and orders.",
                      openapi_url="/openapi.json", docs_url="/docs", **options)

    @app.route("/items/{item_id}", method="GET", tags=["items"])
    def show_item(item_id: int, currency: Query[str] = "EUR", x_trace: FromHeader[Optional[str]] = None) -> dict:
        """Show one item.

        Prices are given in the currency asked for.
        """
        return {"id": item_id, "currency": currency, "trace": x_trace}

    @app.route("/items", method="POST", tags=["items"])
    def create_item(item: Item) -> Item:
        """Add an item."""
        return item

    @app.route("/health", method="GET")
    def health() -> dict:
        """Say it is alive."""
        return {"ok": True}

    return app


# -- driving the page -------------------------------------------------------------------------


def open_docs(browser: WebDriver, url: str, state: str = "ready") -> None:
    """Load the page and wait (bounded) until its script has rendered the document or failed."""
    browser.get_log("browser")  # forget what earlier pages logged
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "loading")
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == state, status_text(browser)


def status_text(browser: WebDriver) -> str:
    found = browser.find_elements(By.ID, "status")
    return found[0].text if found else ""


def console_errors(browser: WebDriver) -> list[str]:
    """What the page logged as errors (a script error, a refused Content-Security-Policy...)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def operations(browser: WebDriver) -> list[tuple[str, str, str]]:
    """(method, path, summary) of each rendered operation, in page order."""
    return [(op.find_element(By.CLASS_NAME, "method").text, op.find_element(By.CLASS_NAME, "path").text,
             op.find_element(By.CLASS_NAME, "summary").text)
            for op in browser.find_elements(By.CSS_SELECTOR, "details.op > summary")]


def expand(browser: WebDriver, operation_id: str) -> WebElement:
    """Open an operation (a click on its summary, as a reader does) and return it."""
    op = browser.find_element(By.ID, "op-" + operation_id)
    op.find_element(By.TAG_NAME, "summary").click()
    WebDriverWait(browser, WAIT).until(lambda b: op.get_attribute("open") is not None)
    return op


def rows(op: WebElement, table: str) -> list[list[str]]:
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in op.find_elements(By.CSS_SELECTOR, f"table.{table} tbody tr")]


def try_it(browser: WebDriver, op: WebElement, values: dict[str, str], body: Optional[str] = None) -> WebElement:
    """Fill the operation's form, send it, and wait (bounded) for the answer it shows."""
    form = op.find_element(By.CSS_SELECTOR, "form.try")
    for name, value in values.items():
        field_input = form.find_element(By.NAME, name)
        field_input.clear()
        field_input.send_keys(value)
    if body is not None:
        area = form.find_element(By.CSS_SELECTOR, "textarea.request-body")
        # Set directly: typing JSON into a textarea is slow and indents by itself.
        browser.execute_script("arguments[0].value = arguments[1];", area, body)
    # The answer of an earlier send goes first, so that the wait below sees this one's.
    browser.execute_script("arguments[0].replaceChildren();", form.find_element(By.CLASS_NAME, "result"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: form.find_elements(By.CSS_SELECTOR, ".result .status-line"))
    return form.find_element(By.CLASS_NAME, "result")


def shown_json(result: WebElement) -> Any:
    return json.loads(result.find_element(By.CSS_SELECTOR, "pre.body").text)


# -- a real application ------------------------------------------------------------------------


def test_the_operations_of_the_application_are_rendered(browser: WebDriver, driver: str) -> None:
    app = shop()
    with serving(app, driver) as client:
        open_docs(browser, client.base_url + "/docs")
        assert browser.title == "Shop"
        assert browser.find_element(By.ID, "version").text == "v1.0.0"
        assert browser.find_element(By.ID, "description").text == "Items and orders."
        assert [s.get_attribute("data-tag") for s in browser.find_elements(By.CSS_SELECTOR, "section.tag")] == [
            "items", "default"]
        assert sorted(operations(browser)) == [
            ("GET", "/health", "Say it is alive."),
            ("GET", "/items/{item_id}", "Show one item."),
            ("POST", "/items", "Add an item."),
        ]
        op = expand(browser, "show_item")
        assert op.find_element(By.CLASS_NAME, "description").text == "Prices are given in the currency asked for."
        assert rows(op, "parameters") == [
            ["item_id", "path", "integer", "required", "", ""],
            ["currency", "query", "string", "optional", '"EUR"', ""],
            ["x-trace", "header", "string", "optional", "", ""],
        ]
        assert [row[0] for row in rows(op, "responses")] == ["200", "400"]
        assert "InjectionError {" in op.find_element(By.CSS_SELECTOR, "table.responses").text

        created = expand(browser, "create_item")
        body_schema = created.find_element(By.CSS_SELECTOR, ".op-body > .media pre.schema").text
        assert body_schema.splitlines() == ["Item {", "  name*: string", "  price*: number",
                                            "  tags: array of string", "}"]
        assert console_errors(browser) == []


def test_try_it_sends_a_get_with_a_path_value(browser: WebDriver, driver: str) -> None:
    with serving(shop(), driver) as client:
        open_docs(browser, client.base_url + "/docs")
        op = expand(browser, "show_item")
        result = try_it(browser, op, {"item_id": "7", "currency": "USD", "x-trace": "t-1"})
        assert result.find_element(By.CLASS_NAME, "status-line").text == "200 OK"
        assert f"{client.base_url}/items/7?currency=USD" in result.text
        assert shown_json(result) == {"id": 7, "currency": "USD", "trace": "t-1"}
        refused = try_it(browser, op, {"item_id": "seven"})
        assert refused.find_element(By.CLASS_NAME, "status-line").text == "400 Bad Request"
        assert shown_json(refused)["errors"][0]["name"] == "item_id"
        errors = console_errors(browser)  # the browser logs the 400 it was sent, and nothing else
        assert len(errors) == 1 and "/items/seven?currency=USD" in errors[0] and "400" in errors[0], errors


def test_try_it_posts_a_json_body_started_from_the_schema(browser: WebDriver) -> None:
    with serving(shop()) as client:
        open_docs(browser, client.base_url + "/docs")
        op = expand(browser, "create_item")
        area = op.find_element(By.CSS_SELECTOR, "textarea.request-body")
        assert json.loads(area.get_attribute("value") or "") == {"name": "string", "price": 0, "tags": ["string"]}
        result = try_it(browser, op, {}, body='{"name": "pen", "price": 2.5}')
        assert result.find_element(By.CLASS_NAME, "status-line").text == "200 OK"
        assert shown_json(result) == {"name": "pen", "price": 2.5, "tags": []}


def test_a_document_that_fails_to_load_is_reported(browser: WebDriver) -> None:
    class Broken:
        @hookimpl
        def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> None:
            raise RuntimeError("no document today")

    app = shop()
    app.register(Broken())
    with serving(app) as client:
        open_docs(browser, client.base_url + "/docs", state="error")
        assert status_text(browser) == (f"Could not load the OpenAPI document {client.base_url}/openapi.json: "
                                        "500 Internal Server Error")


def test_a_document_without_operations(browser: WebDriver) -> None:
    with serving(Application(title="Empty", openapi_url="/openapi.json", docs_url="/")) as client:
        open_docs(browser, client.base_url + "/")
        assert status_text(browser) == "The document has no operations."
        assert browser.find_element(By.ID, "title").text == "Empty"


def test_mounted_below_a_prefix_everything_stays_below_it(browser: WebDriver) -> None:
    with uvicorn_serving(mount("/api", shop())) as port:
        base = Client(port).base_url
        open_docs(browser, base + "/api/docs")
        assert ("GET", "/items/{item_id}", "Show one item.") in operations(browser)
        result = try_it(browser, expand(browser, "show_item"), {"item_id": "5"})
        assert f"{base}/api/items/5?currency=EUR" in result.text
        assert shown_json(result) == {"id": 5, "currency": "EUR", "trace": None}
        assert console_errors(browser) == []


# -- a hand-written document -------------------------------------------------------------------

HAND_WRITTEN: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Hand-written", "version": "9.9", "description": "Written by hand."},
    "servers": [{"url": "./v2"}],
    "tags": [{"name": "words", "description": "Saying things."}, {"name": "trees"}],
    "paths": {
        "/echo/{word}": {
            "parameters": [{"name": "word", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "What to say."}],
            "get": {
                "tags": ["words"], "summary": "Say a word again.", "operationId": "echo",
                "parameters": [{"$ref": "#/components/parameters/Times"},
                               {"name": "session", "in": "cookie", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The word, repeated.",
                                      "content": {"application/json": {"schema": {"type": "array",
                                                                                  "items": {"type": "string"}}}}},
                              "404": {"$ref": "#/components/responses/NotFound"}},
            },
        },
        "/trees": {
            "put": {
                "tags": ["trees"], "summary": "Plant a tree.", "operationId": "plant", "deprecated": True,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                "responses": {"204": {"description": "Planted."}},
            },
        },
        "/photos": {
            "post": {
                "operationId": "upload",
                "requestBody": {"content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "properties": {"title": {"type": "string"},
                                   "image": {"type": "string", "contentMediaType": "image/png"}}}}}},
                "responses": {"201": {"description": "Stored."}},
            },
        },
    },
    "components": {
        "parameters": {"Times": {"name": "times", "in": "query", "required": False,
                                 "schema": {"type": "integer", "default": 2, "minimum": 1}}},
        "responses": {"NotFound": {"description": "No such word."}},
        "schemas": {"Node": {"type": "object", "description": "A tree.",
                             "properties": {"label": {"type": ["string", "null"], "description": "Its name."},
                                            "children": {"type": "array",
                                                         "items": {"$ref": "#/components/schemas/Node"}}},
                             "required": ["label"]}},
    },
}


class HandWritten:
    """Replaces the application's document with ``HAND_WRITTEN`` (a public hook)."""

    @hookimpl
    def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(HAND_WRITTEN))
        return copy


def test_a_hand_written_document_is_rendered_and_tried(browser: WebDriver) -> None:
    validate(HAND_WRITTEN)
    app = Application(openapi_url="/openapi.json", docs_url="/docs")
    app.register(HandWritten())

    @app.route("/v2/echo/{word}", method="GET", include_in_schema=False)
    def echo(word: str, times: int = 2) -> list:
        return [word] * times

    with serving(app) as client:
        assert client.get("/openapi.json").json() == HAND_WRITTEN
        open_docs(browser, client.base_url + "/docs")
        assert browser.find_element(By.ID, "title").text == "Hand-written"
        sections = browser.find_elements(By.CSS_SELECTOR, "section.tag")
        assert [(s.get_attribute("data-tag"), s.find_element(By.TAG_NAME, "h2").text) for s in sections] == [
            ("words", "words"), ("trees", "trees"), ("default", "default")]
        assert sections[0].find_element(By.CSS_SELECTOR, "p.text").text == "Saying things."
        assert operations(browser) == [("GET", "/echo/{word}", "Say a word again."),
                                       ("PUT", "/trees", "Plant a tree."), ("POST", "/photos", "")]

        echo_op = expand(browser, "echo")
        assert rows(echo_op, "parameters") == [
            ["word", "path", "string", "required", "", "What to say."],
            ["times", "query", "integer", "optional", "2", ""],
            ["session", "cookie", "string", "optional", "", ""],
        ]
        assert rows(echo_op, "responses")[1][:2] == ["404", "No such word."]
        assert "the browser sends its own cookies" in echo_op.find_element(By.CSS_SELECTOR, "form.try").text
        result = try_it(browser, echo_op, {"word": "hi there", "times": "3"})
        assert f"{client.base_url}/v2/echo/hi%20there?times=3" in result.text  # the server of the document
        assert shown_json(result) == ["hi there"] * 3

        plant = expand(browser, "plant")
        assert "deprecated" in (plant.get_attribute("class") or "")
        assert plant.find_element(By.CSS_SELECTOR, ".op-body > .media pre.schema").text.splitlines() == [
            "Node {", "  label*: string | null  // Its name.", "  children: array of Node", "}"]
        assert json.loads(plant.find_element(By.CSS_SELECTOR, "textarea.request-body").get_attribute("value") or "") \
            == {"label": "string", "children": []}

        upload = expand(browser, "upload")
        form = upload.find_element(By.CSS_SELECTOR, "form.try")
        assert form.find_element(By.NAME, "image").get_attribute("type") == "file"
        assert form.find_element(By.NAME, "title").get_attribute("type") == "text"
        assert console_errors(browser) == []
