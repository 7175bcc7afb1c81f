"""``blog build OUT``: the whole public site, every variant, as static files.

Stages, in order:

1. :mod:`blog.build.pages` requests every public page from the real app (test client) in
   every variant and follows the links it finds;
2. links are rewritten for a sub-path (``--base-url https://name.github.io/blog/``);
3. :mod:`blog.build.search_index` writes a search index per variant for the theme's script;
4. theme and plugin static files (hashed names) and uploads are added;
5. :mod:`blog.build.paths` checks every path (inside OUT, name lengths, case collisions)
   before anything is written;
6. :mod:`blog.build.output` writes the changed files into a temporary folder and swaps it in.

``blog.build.paths`` is also used by the page cache's file writer, so this package imports
nothing on its own: the entry point is :func:`blog.build.site.build_site`.
"""

#: Set in the WSGI environ of the requests the build makes: views and templates leave out
#: what a static copy cannot serve (a password form, a server-side search).
STATIC_SITE_KEY = "blog.static_site"
