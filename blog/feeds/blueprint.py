"""The ``feeds`` blueprint, shared by the Atom, sitemap and page-metadata modules."""

from flask import Blueprint

feeds = Blueprint("feeds", __name__)
