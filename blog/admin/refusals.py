"""A refused save in the admin: one rollback, then the refused page's own answer.

A view that saves names how to show a refusal with :func:`answered_by`; it raises and
catches nothing itself. The admin blueprint's error handlers below roll the session back
(so nothing half-written stays in it or reaches the database) and call that answer with
the error: the editor shows its form again with the author's input, the revision page
flashes the reason. Refusals are the author's (:class:`FieldError`), the renderer's
(:class:`RenderError`), another writer's (:class:`ConflictError`) or the database's
(:class:`DBAPIError`: a trigger, a constraint, a full disk, a lost server). Another admin
blueprint (the comment queue) gets the same handlers with :func:`answer_refusals`, adding
its own refusal types.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from blog.admin.blueprint import admin
from blog.models import db
from blog.posts import ConflictError
from blog.render import RenderError
from blog.validation import FieldError
from blog.views import database_unavailable

logger = logging.getLogger("blog.admin")

Refusal = FieldError | RenderError | ConflictError | DBAPIError
#: A view's answer; it receives a :data:`Refusal` or one of its blueprint's own refusals.
Answer = Callable[[Any], ResponseReturnValue]
View = TypeVar("View", bound=Callable[..., ResponseReturnValue])

#: The attribute of a view function that holds its answer to a refusal.
ANSWER_ATTRIBUTE = "blog_refusal_answer"


def answered_by(answer: Answer) -> Callable[[View], View]:
    """Decorate a view (below its route) so the admin answers its refused saves with ``answer``.

    ``answer`` runs after the rollback; it reads what it needs from the request again.
    """

    def decorate(view: View) -> View:
        setattr(view, ANSWER_ATTRIBUTE, answer)
        return view

    return decorate


def database_refused(error: DBAPIError) -> bool:
    """Whether ``error`` is the database refusing a write (not the server being away)."""
    return not isinstance(error, OperationalError | InterfaceError)


def answer_refusals(blueprint: Blueprint, *more: type[Exception]) -> None:
    """Answer refused saves of ``blueprint``'s views as the admin's are answered.

    ``more`` are refusals of that blueprint's own (the comment queue's ``CommentError``).
    """
    for refusal in (FieldError, RenderError, ConflictError, DBAPIError, *more):
        blueprint.register_error_handler(refusal, _refused)


def _refused(error: Exception) -> ResponseReturnValue:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()  # the connection itself is gone; a new one is taken next time
    view = current_app.view_functions.get(request.endpoint or "")
    answer: Answer | None = getattr(view, ANSWER_ATTRIBUTE, None)
    if answer is not None:
        if isinstance(error, DBAPIError):
            logger.error("database refused a save at %s: %s", request.path, error.orig)
        return answer(error)
    # A page that does not save: the site-wide answers, as without this handler.
    if isinstance(error, OperationalError | InterfaceError):
        return database_unavailable(error)
    raise error


answer_refusals(admin)
