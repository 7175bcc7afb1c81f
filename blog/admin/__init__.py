"""Admin and authoring: login, the editor with live preview, revisions, trash, uploads, API.

:func:`blog.admin.setup.init_app` wires it into an application; the core calls it from
``create_app``. This package file imports nothing, so that a light submodule (the
``blog token`` commands, the models) can be imported without loading the whole admin.
"""
