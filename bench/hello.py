"""The baseline: the smallest Flask app, served by waitress with the blog's settings."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
