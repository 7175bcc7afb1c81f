"""Reader comments, built in: threaded, moderated, spam-resistant, on cached pages.

:func:`blog.comments.setup.init_app` registers the reader blueprint (form POST, feeds),
the admin queue and the JSON API, and gives templates the functions the theme's comment
section calls. Modules: ``fields`` (input checks), ``content`` (Markdown through the post
pipeline), ``tokens`` (the anonymous anti-forgery token), ``spam`` (rate limits and rules),
``service`` (storing, moderating, reading), ``notify``, ``identicon``, ``transfer``
(export, import, Waline), ``views``, ``admin``, ``api``, ``cli``.

This package file imports nothing, so that the ``blog`` command can list the
``blog comments`` commands without loading the application.
"""
