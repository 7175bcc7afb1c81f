"""The admin blueprint; the modules that add routes to it import it from here."""

from __future__ import annotations

from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
