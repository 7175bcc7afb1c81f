"""Moving whole sites in: Hexo, Hugo, Jekyll, WordPress; assets, old URLs, bad input."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import Result
from flask import Flask

from blog.admin.models import Upload
from blog.importer import ORIGINAL_NAMES
from blog.models import Post, Redirect, db
from tests.admin_support import create_user, login, post_form
from tests.test_admin_uploads import png_bytes

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(tag: str) -> bytes:
    """A real, decodable PNG (uploads read the header), different for each ``tag``."""
    return png_bytes(zlib.crc32(tag.encode()) % 997 + 2, 2)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def posts_of(app: Flask) -> dict[str, Post]:
    with app.app_context():
        found = {p.slug: p for p in db.session.query(Post)}
        for post in found.values():
            db.session.expunge(post)
        return found


@pytest.fixture
def hexo_site(tmp_path: Path) -> Path:
    root = tmp_path / "hexo"
    write(
        root / "_config.yml",
        "url: https://old.example.com\npermalink: :year/:month/:title/\npost_asset_folder: true\n"
        "feed:\n  path: !!js/regexp /atom/\n",
    )
    write(
        root / "source/_posts/first.md",
        "---\ntitle: 第一篇\ndate: 2021-03-04 10:00:00\ncategories: [[深度学习], [自然语言处理]]\n"
        "tags: [NLP, Attention]\nsticky: 10\nmathjax: true\ndescription: 摘要\n---\n"
        "{% note warning 注意 %}\n**小心**\n{% endnote %}\n\n"
        "{% asset_img diagram.png 结构图 %}\n\n![本地](first/photo.png)\n\n"
        "{% codeblock demo.py lang:python %}\nprint('{% raw %}')\n{% endcodeblock %}\n\n"
        "见 {% post_link second %}。\n\n"
        "{% fold info @展开看 %}\n内容\n\n```\ncode\n```\n\n{% endfold %}\n\n"
        "折叠之后\n\n"
        "{% blockquote 鲁迅, 呐喊 %}\n引文\n{% endblockquote %}\n\n{% mystery x %}\n\n"
        "```\n{% note %} 代码里的不动\n```\n",
    )
    write(root / "source/_posts/first/diagram.png", png("1"))
    write(root / "source/_posts/first/photo.png", png("2"))
    write(root / "source/_posts/first/notes.md", "---\ntitle: 资源里的文件\n---\n")
    write(
        root / "source/_posts/second.md",
        "---\ntitle: 第二篇\ndate: 2022-01-02\ncategories: 工程\ntags: [部署]\n---\n正文\n",
    )
    return root


def test_hexo_site_is_recognised_converted_and_its_old_urls_answer_301(
    hexo_site: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    result = run_cli("import", str(hexo_site))
    assert result.exit_code == 0, result.output
    assert "source: hexo" in result.output
    assert "inside the asset folder of first.md" in result.output
    assert "/2021/03/first/ → /posts/first/" in result.output
    assert "unknown mystery×1" in result.output
    app = make_app()
    first = posts_of(app)["first"]
    assert first.category is not None and first.category.name == "深度学习"
    assert [c.name for c in first.categories] == ["深度学习", "自然语言处理"]
    assert "categories" not in first.meta
    assert first.meta["pinned"] == 10 and first.meta["math"] is True
    assert first.meta["excerpt"] == "摘要"
    html = first.body_html
    assert 'class="admonition warning"' in html and "<strong>小心</strong>" in html
    assert "<details" in html and "展开看" in html
    assert "</details>\n<p>折叠之后</p>" in html  # a fence inside the fold closes properly
    assert 'href="/posts/second/"' in html and "第二篇" in html
    assert "— 鲁迅" in html and "<blockquote>" in html
    assert "```python title=\"demo.py\"\nprint('{% raw %}')\n```" in first.source
    assert "demo.py</figcaption>" in html
    assert "{% note %} 代码里的不动" in html
    assert "<code>{% mystery x %}</code>" in html  # kept visibly, and reported above
    with app.app_context():
        names = {u.original_name for u in db.session.query(Upload)}
        assert names == {"diagram", "photo"}
    assert html.count('src="/uploads/') == 2
    client = app.test_client()
    for old, new in (
        ("/2021/03/first/", "/posts/first/"),
        ("/2021/03/first/index.html", "/posts/first/"),
        ("/atom.xml", "/feed.xml"),
    ):
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"].endswith(new)
    page = client.get("/posts/first/")
    assert page.status_code == 200
    extra = (
        '<a class="category category-extra" href="/categories/'
        + quote("自然语言处理")
        + '/">自然语言处理</a>'
    )
    assert extra in page.get_data(as_text=True)
    # The second category is a real one: its listing and its feed include the post.
    listing = client.get("/categories/自然语言处理/")
    assert listing.status_code == 200 and 'href="/posts/first/"' in listing.get_data(as_text=True)
    feed = client.get("/categories/自然语言处理/feed.xml")
    assert feed.status_code == 200 and "/posts/first/" in feed.get_data(as_text=True)


def test_dry_run_reports_every_construct_and_writes_nothing(
    hexo_site: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask], instance: Path
) -> None:
    run_cli("upgrade")
    result = run_cli("import", "--dry-run", str(hexo_site))
    assert result.exit_code == 0, result.output
    assert "converted asset_img×1, blockquote×1, codeblock×1, fold×1, note×1, post_link×1" in (
        result.output
    )
    assert "images 2 found, 2 imported, 0 missing" in result.output
    assert "would import 2" in result.output and "nothing was written" in result.output
    app = make_app()
    with app.app_context():
        assert db.session.query(Post).count() == 0
        assert db.session.query(Redirect).count() == 0
        assert db.session.query(Upload).count() == 0
    assert not (instance / "uploads").exists()


def test_hugo_site_with_config_folder_bundles_and_shortcodes(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    root = tmp_path / "hugo"
    write(root / "config/_default/hugo.toml", 'baseURL = "http://localhost:1313/"\n')
    write(root / "config/production/hugo.toml", 'baseURL = "https://old.example.org/"\n')
    write(root / "config/_default/permalinks.toml", 'posts = "/:year/:slugorcontentbasename"\n')
    write(
        root / "content/posts/Bundle/index.md",
        "---\ntitle: 包\ndate: 2020-05-06\nlastmod: 2021-06-01\ncategories: [甲, 乙]\n"
        "tags: [t]\nfeaturedImage: cover.png\naliases: [/old/bundle/]\n---\n"
        '{{< figure src="pic.png" title="图一" >}}\n\n'
        '{{< highlight go >}}\nfmt.Println("{{< x >}}")\n{{< /highlight >}}\n\n'
        '{{% notice tip "提示" %}}\n要点\n{{% /notice %}}\n\n'
        '[另一篇]({{< ref "plain.md" >}}) {{< youtube abc123 >}} {{< bilibili BV1xx >}}\n\n'
        '![静态](/img/s.png)\n\n{{< caniuse feature="css-grid" >}}\n\n{{< unheard a=1 >}}\n',
    )
    write(root / "content/posts/Bundle/pic.png", png("p"))
    write(root / "content/posts/Bundle/cover.png", png("c"))
    write(root / "static/img/s.png", png("s"))
    write(root / "content/posts/plain.md", "---\ntitle: 普通\ndate: 2020-01-01\n---\n正文\n")
    write(root / "content/posts/_index.md", "---\ntitle: 列表\n---\n")
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    assert "source: hugo" in result.output
    assert "/2020/bundle/ → /posts/Bundle/" in result.output
    assert "/old/bundle/ → /posts/Bundle/" in result.output
    assert "/categories/甲/ → " not in result.output  # the same path here: no redirect needed
    app = make_app()
    posts = posts_of(app)
    assert set(posts) == {"Bundle", "plain"}
    bundle = posts["Bundle"]
    html = bundle.body_html
    assert "<figure>" in html and "<figcaption>图一</figcaption>" in html
    assert html.count('src="/uploads/') == 2
    assert bundle.meta["cover"].startswith("/uploads/")
    assert bundle.updated_at.year == 2021
    assert 'class="admonition tip"' in html and "提示" in html
    assert 'href="/posts/plain/"' in html
    assert 'href="https://www.youtube.com/watch?v=abc123"' in html
    assert 'href="https://www.bilibili.com/video/BV1xx"' in html
    assert "https://caniuse.com/css-grid" in html
    assert "{{&lt; unheard a=1 &gt;}}" in html and "<code>" in html
    assert "Println" in html


def test_jekyll_site_liquid_includes_and_dates_from_file_names(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    root = tmp_path / "jekyll"
    write(
        root / "_config.yml",
        'url: "http://old.example.net/blog"\nloadingImg: "http://old.example.net/blog/l.gif"\n'
        "permalink: pretty\ntimezone: Asia/Shanghai\n",
    )
    write(
        root / "_includes/figure.html",
        '<figure>\n<img src="{{ site.loadingImg }}" data-src="{{ include.src }}" '
        'alt="{{ include.alt }}">\n<figcaption>{{ include.caption }}</figcaption>\n</figure>\n',
    )
    write(
        root / "_posts/2016-07-26-liquid.md",
        "---\ntitle: 液体\ntags: [a]\n---\n"
        "{% highlight js %}\nvar a = '{{ x }}';\n{% endhighlight %}\n\n"
        "{% raw %}{{ kept }}{% endraw %}\n\n[前文]({% post_url 2015-01-01-older %})\n\n"
        "站点：{{ site.url }}/about/\n\n[旧链接]({{ site.url }}/2015/01/01/older/)\n\n"
        "{% capture imgSrc %}{{ site.url }}/img/a.png{% endcapture %}\n"
        "{% include figure.html src=imgSrc caption='图注' %}\n\n{% include missing.html %}\n",
    )
    write(root / "img/a.png", png("a"))
    write(root / "_posts/2015-01-01-older.md", "---\ntitle: 旧文\n---\n正文\n")
    write(
        root / "_posts/2015-02-02-cats.md",
        "---\ntitle: 分类\ncategories: 机器学习 笔记\n---\n正文\n",
    )
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    assert "/blog/2016/07/26/liquid/ → /posts/liquid/" in result.output
    assert "include 'missing.html' not found" in result.output
    app = make_app()
    posts = posts_of(app)
    liquid = posts["liquid"]
    assert liquid.published_at is not None and liquid.published_at.isoformat() == (
        "2016-07-25T16:00:00"
    )
    html = liquid.body_html
    assert "{{ kept }}" in html
    assert 'href="/posts/older/"' in html
    assert "http://old.example.net/blog/about/" in html
    assert '<a href="/posts/older/" rel="noopener">旧链接</a>' in html  # old-site link rewritten
    assert "<figcaption>图注</figcaption>" in html
    assert html.count('src="/uploads/') == 1 and "data-src" not in html
    assert "<code>{% include missing.html %}</code>" in html
    # Jekyll reads a `categories:` string as space-separated names: each is a category.
    assert [c.name for c in posts["cats"].categories] == ["机器学习", "笔记"]


WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>WP</title><link>https://wp.example.com</link>
<wp:base_blog_url>https://wp.example.com</wp:base_blog_url>
<wp:author><wp:author_id>1</wp:author_id><wp:author_login>li</wp:author_login>
<wp:author_email>li@example.com</wp:author_email>
<wp:author_display_name>李雷</wp:author_display_name></wp:author>
<wp:category><wp:term_id>3</wp:term_id><wp:category_nicename>tech</wp:category_nicename><wp:category_parent></wp:category_parent><wp:cat_name>技术</wp:cat_name></wp:category>
<wp:category><wp:term_id>4</wp:term_id><wp:category_nicename>py</wp:category_nicename><wp:category_parent>tech</wp:category_parent><wp:cat_name>Python</wp:cat_name></wp:category>
<wp:tag><wp:tag_slug>tips</wp:tag_slug><wp:tag_name>技巧</wp:tag_name></wp:tag>
<item><title>带图的文章</title><link>https://wp.example.com/2019/05/hello/</link>
<dc:creator>li</dc:creator>
<content:encoded><![CDATA[<!-- wp:paragraph -->
<p>第一段 <em>强调</em></p>
<!-- /wp:paragraph -->

[caption id="attachment_9" width="300"]<img
 src="https://wp.example.com/wp-content/uploads/2019/05/a.png" alt="甲"> 图片说明[/caption]

[code lang="python"]print("<hi>")[/code]

[gallery ids="9"]

[contact-form to="x"]]]></content:encoded>
<wp:post_id>5</wp:post_id><wp:post_date>2019-05-01 08:00:00</wp:post_date>
<wp:post_date_gmt>2019-05-01 00:00:00</wp:post_date_gmt>
<wp:post_name>hello</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<wp:is_sticky>1</wp:is_sticky>
<category domain="category" nicename="py">Python</category>
<category domain="post_tag" nicename="tips">技巧</category>
<wp:comment><wp:comment_id>11</wp:comment_id><wp:comment_author>读者</wp:comment_author>
<wp:comment_author_email>Reader@Example.com</wp:comment_author_email>
<wp:comment_author_url>https://reader.example.org/</wp:comment_author_url>
<wp:comment_date>2019-05-02 08:00:00</wp:comment_date>
<wp:comment_date_gmt>2019-05-02 00:00:00</wp:comment_date_gmt>
<wp:comment_content><![CDATA[<p>好文 <a href="https://ex.org/a">链接</a>，价格 $5 和 $6。</p>
<script>alert(1)</script><img src=x onerror=alert(2)>
<a href="javascript:alert(3)">坏</a>]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_type>comment</wp:comment_type>
<wp:comment_parent>0</wp:comment_parent><wp:comment_user_id>0</wp:comment_user_id></wp:comment>
<wp:comment><wp:comment_id>12</wp:comment_id><wp:comment_author>李雷</wp:comment_author>
<wp:comment_date_gmt>2019-05-02 01:00:00</wp:comment_date_gmt>
<wp:comment_content>谢谢！</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
<wp:comment_parent>11</wp:comment_parent><wp:comment_user_id>1</wp:comment_user_id></wp:comment>
<wp:comment><wp:comment_id>13</wp:comment_id><wp:comment_author>新人</wp:comment_author>
<wp:comment_date_gmt>2019-05-03 00:00:00</wp:comment_date_gmt>
<wp:comment_content>等待审核的评论</wp:comment_content><wp:comment_approved>0</wp:comment_approved>
<wp:comment_parent>0</wp:comment_parent></wp:comment>
<wp:comment><wp:comment_id>14</wp:comment_id><wp:comment_author>bot</wp:comment_author>
<wp:comment_date>2019-05-05 08:30:00</wp:comment_date>
<wp:comment_content>cheap pills</wp:comment_content><wp:comment_approved>spam</wp:comment_approved>
</wp:comment>
<wp:comment><wp:comment_id>15</wp:comment_id><wp:comment_author>other blog</wp:comment_author>
<wp:comment_content>pinged</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
<wp:comment_type>pingback</wp:comment_type></wp:comment>
<wp:comment><wp:comment_id>16</wp:comment_id><wp:comment_author>gone</wp:comment_author>
<wp:comment_content>trashed</wp:comment_content><wp:comment_approved>trash</wp:comment_approved>
</wp:comment>
<wp:comment><wp:comment_id>17</wp:comment_id><wp:comment_author>孤儿</wp:comment_author>
<wp:comment_date_gmt>2019-05-04 00:00:00</wp:comment_date_gmt>
<wp:comment_content>父评论不在导出里</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
<wp:comment_parent>99</wp:comment_parent></wp:comment>
</item>
<item><title>关于</title><link>https://wp.example.com/about/</link><dc:creator>li</dc:creator>
<content:encoded><![CDATA[纯文字的页面。

第二段。]]></content:encoded><wp:post_id>7</wp:post_id>
<wp:post_date_gmt>2019-01-01 00:00:00</wp:post_date_gmt><wp:post_name>about</wp:post_name>
<wp:status>publish</wp:status><wp:post_type>page</wp:post_type></item>
<item><title>a.png</title><wp:post_id>9</wp:post_id><wp:post_type>attachment</wp:post_type>
<wp:status>inherit</wp:status><wp:post_parent>5</wp:post_parent>
<wp:attachment_url>https://wp.example.com/wp-content/uploads/2019/05/a.png</wp:attachment_url></item>
</channel></rss>
"""


def test_wordpress_export_with_media_dir(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    export = write(tmp_path / "site.xml", WXR)
    write(tmp_path / "media/2019/05/a.png", png("w"))
    result = run_cli("import", "--media-dir", str(tmp_path / "media"), str(export))
    assert result.exit_code == 0, result.output
    assert "source: wordpress" in result.output
    assert "5 comments go with it" in result.output
    assert "1 comments left out (pingback)" in result.output
    assert "1 comments left out (status trash)" in result.output
    assert "comment 17: its parent 99 is not in the export" in result.output
    assert "comments: 5 imported, 0 already present, 0 failed" in result.output
    assert "/?p=5 → /posts/hello/" in result.output
    assert "/2019/05/hello/ → /posts/hello/" in result.output
    assert "/category/py/ → /categories/Python/" in result.output
    assert "body: kept as sanitized HTML" in result.output
    assert "body: Markdown (plain paragraphs" in result.output
    app = make_app()
    posts = posts_of(app)
    hello, about = posts["hello"], posts["about"]
    assert about.kind == "page"
    assert hello.category is not None and hello.category.name == "Python"
    # A WordPress subcategory's post is listed in its parent category too.
    assert [c.name for c in hello.categories] == ["Python", "技术"]
    assert [t.name for t in hello.tags] == ["技巧"] and hello.meta["pinned"] is True
    html = hello.body_html
    assert "<figcaption>图片说明</figcaption>" in html
    assert html.count('src="/uploads/') == 2  # the caption's image and the gallery's
    assert "&lt;hi&gt;" in html and "<em>强调</em>" in html
    assert "wp:paragraph" not in html
    assert "[contact-form" in html and "<code>" in html
    with app.app_context():
        from blog.models import Revision

        revision = db.session.query(Revision).filter_by(post_id=hello.id).one()
        assert revision.author == "李雷"
    assert (
        app.test_client().get("/category/py/").headers["Location"].endswith("/categories/Python/")
    )
    with app.app_context():
        from blog.comments.models import Comment

        rows = {c.name: c for c in db.session.query(Comment).order_by(Comment.id)}
        assert set(rows) == {"读者", "李雷", "新人", "bot", "孤儿"}
        reader, reply = rows["读者"], rows["李雷"]
        assert {c.post_id for c in rows.values()} == {hello.id}
        assert [rows[n].status for n in ("读者", "李雷", "新人", "bot", "孤儿")] == [
            "approved",
            "approved",
            "pending",
            "spam",
            "approved",
        ]
        assert reply.parent_id == reader.id and reply.thread_id == reader.thread_id
        assert reply.is_author and not reader.is_author
        assert rows["孤儿"].parent_id is None
        assert reader.email == "reader@example.com"
        assert reader.website == "https://reader.example.org/"
        assert reader.created_at.isoformat() == "2019-05-02T00:00:00"
        # Only a local date: the blog's time (Asia/Shanghai here, UTC+8), not UTC.
        assert rows["bot"].created_at.isoformat() == "2019-05-05T00:30:00"
        assert "[链接](https://ex.org/a)" in reader.source and "\\$5" in reader.source
        body = reader.body_html
        assert '<a href="https://ex.org/a" rel="nofollow ugc noopener">链接</a>' in body
        assert "$5 和 $6" in body and "<math" not in body  # dollars, not a formula
        assert "<script" not in body and "onerror" not in body and "javascript:" not in body
        assert "alert(1)" not in body
    page = app.test_client().get("/posts/hello/").get_data(as_text=True)
    assert "好文" in page and "谢谢！" in page and "父评论不在导出里" in page
    assert "等待审核的评论" not in page and "cheap pills" not in page
    again = run_cli("import", "--media-dir", str(tmp_path / "media"), str(export))
    assert "comments: 0 imported, 5 already present, 0 failed" in again.output


def test_wordpress_query_string_urls_answer_301(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    """WordPress's /?p=ID, /?page_id=ID, /?cat=ID, /?tag=slug and /?feed= keep working."""
    run_cli("upgrade")
    result = run_cli("import", str(write(tmp_path / "site.xml", WXR)))
    assert result.exit_code == 0, result.output
    client = make_app().test_client()
    expected = {
        "/?p=5": "/posts/hello/",
        "/?p=5&utm_source=feed": "/posts/hello/",
        "/?utm_source=feed&p=5": "/posts/hello/",
        "/?page_id=7": "/pages/about/",
        "/?p=7": "/pages/about/",
        "/?cat=4": "/categories/Python/",
        "/?tag=tips": "/tags/%E6%8A%80%E5%B7%A7/",
        "/?feed=rss2": "/feed.xml",
    }
    for old, new in expected.items():
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"].endswith(new), old
    assert client.get("/?p=999").status_code == 200  # unknown id: the home page
    # "技术" (/?cat=3) is the parent of the post's "Python": its listing shows the post.
    response = client.get("/?cat=3")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/categories/%E6%8A%80%E6%9C%AF/")
    assert "/posts/hello/" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/index.php?p=5").status_code == 404
    assert client.get("/search?q=hello").status_code == 200
    with make_app().app_context():
        from blog.models import Redirect

        db.session.add(Redirect(old_path="/index.php?p=5", target="/posts/hello/"))
        db.session.commit()
    response = client.get("/index.php?p=5&replytocom=3")
    assert response.status_code == 301 and response.headers["Location"].endswith("/posts/hello/")


@pytest.mark.parametrize(
    "payload",
    [
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n'
        "<rss><channel><title>&b;</title></channel></rss>",
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<rss><channel><title>&x;</title></channel></rss>",
    ],
    ids=["billion-laughs", "xxe"],
)
def test_hostile_xml_is_refused_by_defusedxml(
    tmp_path: Path, run_cli: Callable[..., Result], payload: str
) -> None:
    run_cli("upgrade")
    export = write(tmp_path / "evil.xml", payload)
    result = run_cli("import", str(export))
    assert result.exit_code == 1
    assert f"{export}: refused: " in result.output
    assert "root:" not in result.output


def test_truncated_xml_names_the_line(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    run_cli("upgrade")
    export = write(tmp_path / "cut.xml", WXR[: len(WXR) // 2])
    result = run_cli("import", str(export))
    assert result.exit_code == 1
    assert "truncated or malformed XML" in result.output


def test_bad_assets_and_encodings_are_reported_and_the_rest_imported(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    outside = write(tmp_path / "secret.png", png("secret"))
    root = tmp_path / "hexo"
    write(root / "_config.yml", "permalink: :title/\npost_asset_folder: true\n")
    write(
        root / "source/_posts/bad.md",
        "---\ntitle: 坏资源\n---\n![](bad/link.png)\n\n![](../../secret.png)\n\n"
        "![](bad/huge.png)\n\n![](bad/gone.png)\n\n![](bad/ok.png)\n",
    )
    (root / "source/_posts/bad").mkdir()
    os.symlink(outside, root / "source/_posts/bad/link.png")
    with open(root / "source/_posts/bad/huge.png", "wb") as huge:
        huge.truncate(1024**3)  # sparse: 1 GB by size, nothing on disk, never read
    write(root / "source/_posts/bad/ok.png", png("ok"))
    write(root / "source/_posts/gbk.md", "---\ntitle: 国标\n---\n中文内容\r\n".encode("gbk"))
    write(root / "source/_posts/bom.md", "\ufeff---\r\ntitle: 有BOM\r\n---\r\n正文\r\n")
    write(root / "source/_posts/dup.md", "---\ntitle: 重复一\nslug: same\n---\n一\n")
    write(root / "source/_posts/dup2.md", "---\ntitle: 重复二\nslug: same\n---\n二\n")
    write(root / "source/_posts/broken.md", "---\ntitle: [坏\n---\n")
    result = run_cli("import", str(root))
    assert result.exit_code == 1
    out = result.output
    assert "line 4: image bad/link.png: refused: a symlink pointing outside" in out
    assert "line 6: image ../../secret.png: refused: the path leads outside" in out
    assert (
        "line 8: image bad/huge.png: refused: 1,073,741,824 bytes is over the upload limit" in out
    )
    assert "line 10: image bad/gone.png: not found in the source folder" in out
    assert "decoded as GBK" in out
    assert "slug 'same' is also used by" in out
    assert "broken.md:2: YAML" in out
    app = make_app()
    posts = posts_of(app)
    assert {"bad", "gbk", "bom", "same", "same-2"} <= set(posts)
    assert posts["gbk"].source == "中文内容\n" and posts["bom"].title == "有BOM"
    assert posts["bad"].body_html.count('src="/uploads/') == 1
    with app.app_context():
        assert db.session.query(Upload).count() == 1


def test_many_tags_import_with_a_warning(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    run_cli("upgrade")
    tags = "\n".join(f"  - 标签{i}" for i in range(139))
    write(tmp_path / "many.md", f"---\ntitle: 多标签\nslug: many\ntags:\n{tags}\n---\n正文\n")
    result = run_cli("import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(posts_of(make_app())["many"].tags) == 139


def test_export_includes_uploads_and_imports_byte_identical(
    hexo_site: Path, run_cli: Callable[..., Result], tmp_path: Path, instance: Path
) -> None:
    from tests.conftest import write_config
    from tests.test_cli import blog

    run_cli("upgrade")
    assert run_cli("import", str(hexo_site)).exit_code == 0
    first = tmp_path / "first"
    assert run_cli("export", str(first)).exit_code == 0
    exported = sorted(p.name for p in (first / "uploads").iterdir())
    assert exported[-1] == ORIGINAL_NAMES  # beside the uploads: the names they came with
    uploads = exported[:-1]
    assert len(uploads) == 2
    names = json.loads((first / "uploads" / ORIGINAL_NAMES).read_text(encoding="utf-8"))
    assert sorted(names) == uploads
    for name in uploads:
        assert (first / "uploads" / name).read_bytes() == (instance / "uploads" / name).read_bytes()
    other = tmp_path / "other"
    write_config(other)
    assert blog(other, "upgrade").returncode == 0
    imported = blog(other, "import", str(first))
    assert imported.returncode == 0, imported.stderr
    assert sorted(p.name for p in (other / "uploads").iterdir()) == uploads
    second = tmp_path / "second"
    assert blog(other, "export", str(second)).returncode == 0
    for path in sorted(first.rglob("*")):
        if path.is_file():
            twin = second / path.relative_to(first)
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_backup_and_restore_round_trip_on_sqlite(
    hexo_site: Path, run_cli: Callable[..., Result], tmp_path: Path, instance: Path,
    make_app: Callable[..., Flask],
) -> None:  # fmt: skip
    run_cli("upgrade")
    assert run_cli("import", str(hexo_site)).exit_code == 0
    archive = tmp_path / "site.tar.gz"
    result = run_cli("backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "sqlite database and 2 uploads" in result.output
    before = {p.name: p.read_bytes() for p in (instance / "uploads").iterdir()}
    app = make_app()
    with app.app_context():
        db.session.query(Post).delete()
        db.session.commit()
    for path in (instance / "uploads").iterdir():
        path.unlink()
    result = run_cli("restore", "--yes", str(archive))
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in (instance / "uploads").iterdir()} == before
    assert set(posts_of(make_app())) == {"first", "second"}
    refused = run_cli("restore", "--yes", str(write(tmp_path / "x.tar.gz", b"junk")))
    assert refused.exit_code == 1 and "is not a blog backup" in refused.output


def test_admin_edits_the_redirect_table(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    create_user(app)
    client = app.test_client()
    login(client)
    page = client.get("/admin/redirects/")
    assert page.status_code == 200
    saved = post_form(client, "/admin/redirects/", {"old_path": "/old/", "target": "/posts/x/"})
    assert saved.status_code == 302
    assert client.get("/old/").headers["Location"].endswith("/posts/x/")
    post_form(client, "/admin/redirects/", {"old_path": "/old/", "target": "/posts/y/"})
    assert client.get("/old/").headers["Location"].endswith("/posts/y/")
    bad = post_form(client, "/admin/redirects/", {"old_path": "//evil.com/", "target": "/x/"})
    assert bad.status_code == 302
    with app.app_context():
        assert db.session.get(Redirect, "//evil.com/") is None
    post_form(client, "/admin/redirects/delete", {"old_path": "/old/"})
    assert client.get("/old/").status_code == 404
    anonymous = app.test_client()
    refused = anonymous.post("/admin/redirects/", data={"old_path": "/a/", "target": "/b/"})
    assert refused.status_code in (302, 400, 403)
    with app.app_context():
        assert db.session.get(Redirect, "/a/") is None


@pytest.mark.postgres
def test_backup_and_restore_round_trip_on_postgres(
    hexo_site: Path, run_cli: Callable[..., Result], tmp_path: Path, instance: Path,
    make_app: Callable[..., Flask],
) -> None:  # fmt: skip
    from tests.conftest import POSTGRES_HINT, POSTGRES_URL, reset_postgres, write_config

    if not POSTGRES_URL:
        pytest.skip(POSTGRES_HINT)
    reset_postgres(POSTGRES_URL)
    write_config(instance, DATABASE_URL=POSTGRES_URL)
    run_cli("upgrade")
    assert run_cli("import", str(hexo_site)).exit_code == 0
    archive = tmp_path / "pg.tar.gz"
    result = run_cli("backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "postgresql database and 2 uploads" in result.output
    app = make_app(DATABASE_URL=POSTGRES_URL)
    with app.app_context():
        db.session.query(Redirect).delete()
        db.session.query(Post).delete()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    result = run_cli("restore", "--yes", str(archive))
    assert result.exit_code == 0, result.output
    app = make_app(DATABASE_URL=POSTGRES_URL)
    assert set(posts_of(app)) == {"first", "second"}
    assert app.test_client().get("/2021/03/first/").status_code == 301


def test_wordpress_comment_html_becomes_markdown_that_reads_the_same() -> None:
    from blog.migrate.wxr_comments import comment_markdown

    markdown = comment_markdown(
        "<p>a <b>b</b> <em>c</em> <code>x*y</code></p><ul><li>one</li><li>two<ol><li>2a</li>"
        "</ol></li></ul><pre>p = 1 * 2\n  q</pre><blockquote>quoted</blockquote>"
        "<h2>Title</h2><img src='https://x.example/a.png' alt='图'>"
        "<p>1 < 2 &amp; $3 *not bold* # not a heading</p><style>p{}</style>"
    )
    assert markdown.splitlines() == [
        "a **b** *c* `x*y`",
        "",
        "- one",
        "- two",
        "    1. 2a",
        "",
        "```",
        "p = 1 * 2",
        "  q",
        "```",
        "",
        "> quoted",
        "",
        "**Title**",
        "",
        "[图](https://x.example/a.png)",
        "",
        "1 &lt; 2 &amp; \\$3 \\*not bold\\* # not a heading",
    ]
