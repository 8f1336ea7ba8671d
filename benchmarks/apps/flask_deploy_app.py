"""The two routes of ``naja_deploy_app.py``, in Flask, for the same gunicorn settings::

    gunicorn --chdir benchmarks/apps -w 1 -k sync flask_deploy_app:app
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify

# Like the other apps: no per-request logging in what is measured.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    """Plain text."""
    return "Hello, World!"


@app.get("/json")
def json_payload() -> Response:
    """A small dict, rendered as JSON."""
    return jsonify({"message": "Hello, World!", "ok": True, "count": 3, "items": [1, 2, 3]})
