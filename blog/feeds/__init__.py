"""What machines read: Atom feeds, the sitemap, robots.txt and page metadata for ``_seo.html``.

Feeds are written from a small Jinja template rather than with a feed library because the
post body must go in as inline XHTML (``type="xhtml"``), not as escaped HTML: the variant
response filter then sees real elements and can skip ``translate="no"`` math and code
while converting the text around them, and MathML keeps its namespace for readers that
render it (the TeX annotation stays inside for those that do not). ``feedgen`` would
re-parse that XHTML with lxml and add little beyond the escaping Jinja already does.

Modules, one job each: ``urls`` (absolute URLs and dates), ``xhtml`` (bodies as XHTML),
``atom`` (the feeds), ``sitemap`` (sitemap.xml and robots.txt) and ``seo`` (metadata for
``_seo.html``); importing the package registers their routes on ``feeds``.
"""

from blog.feeds import atom, seo, sitemap
from blog.feeds.blueprint import feeds
from blog.feeds.urls import hreflang

__all__ = ["atom", "feeds", "hreflang", "seo", "sitemap"]
