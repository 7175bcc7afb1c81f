"""Old URLs of posts with several categories: every address the old site served redirects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

from click.testing import Result
from flask import Flask

from tests.test_migrate import write


def location(app: Flask, old: str) -> str | None:
    """Where ``old`` (as the old site wrote it, unencoded) redirects now, or None."""
    response = app.test_client().get(quote(old))
    if response.status_code != 301:
        return None
    return unquote(response.headers["Location"])


def test_hexo_category_permalink_redirects_from_each_category_chain(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "hexo"
    write(root / "_config.yml", "permalink: :category/:title/\n")
    # A flat list is one chain in Hexo: 深度学习 is a subcategory of 机器学习.
    write(
        root / "source/_posts/cnn.md",
        "---\ntitle: CNN\ndate: 2020-01-02\ncategories: [机器学习, 深度学习]\n---\n正文\n",
    )
    # A list of lists is one chain per inner list.
    write(
        root / "source/_posts/bert.md",
        "---\ntitle: BERT\ndate: 2020-03-04\ncategories:\n  - [AI, NLP]\n  - 笔记\n---\n正文\n",
    )
    write(root / "source/_posts/plain.md", "---\ntitle: 无分类\ndate: 2020-05-06\n---\n正文\n")
    run_cli("upgrade")
    result = run_cli("import", str(root))
    assert result.exit_code == 0, result.output
    app = make_app()
    assert location(app, "/机器学习/深度学习/cnn/") == "/posts/cnn/"
    # Which chain's leaf Hexo used depends on the whole site's order: both are kept.
    assert location(app, "/AI/NLP/bert/") == "/posts/bert/"
    assert location(app, "/笔记/bert/") == "/posts/bert/"
    assert location(app, "/uncategorized/plain/") == "/posts/plain/"
    # Hexo never served a chain's root or a leaf alone as a post's address.
    assert location(app, "/机器学习/cnn/") is None
    assert location(app, "/深度学习/cnn/") is None
    # Every level of every chain had a listing, under its parents' path.
    # The root's old listing is the same address here: it is served, not redirected.
    assert app.test_client().get(quote("/categories/机器学习/")).status_code == 200
    assert location(app, "/categories/机器学习/深度学习/") == "/categories/深度学习/"
    assert location(app, "/categories/AI/NLP/") == "/categories/NLP/"
    assert app.test_client().get(quote("/categories/笔记/")).status_code == 200
    assert location(app, "/categories/深度学习/") is None  # not a Hexo address


def test_hugo_listing_of_a_second_category_redirects(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    root = tmp_path / "hugo"
    write(root / "hugo.toml", 'baseURL = "https://example.org/"\n')
    write(
        root / "content/posts/attention.md",
        "---\ntitle: Attention\ndate: 2021-01-01\n"
        "categories: [深度学习, 自然语言处理]\n---\n正文\n",
    )
    run_cli("upgrade")
    assert run_cli("import", str(root)).exit_code == 0
    app = make_app()
    client = app.test_client()
    assert client.get(quote("/categories/自然语言处理/")).status_code == 200
    # Hugo's feed of the second category was recorded (before, only the first one's was).
    assert location(app, "/categories/深度学习/index.xml") == "/categories/深度学习/"
    assert location(app, "/categories/自然语言处理/index.xml") == "/categories/自然语言处理/"


WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>WP</title><link>https://wp.example.com</link>
<wp:base_blog_url>https://wp.example.com</wp:base_blog_url>
<wp:category><wp:term_id>3</wp:term_id><wp:category_nicename>tech</wp:category_nicename>
<wp:category_parent></wp:category_parent><wp:cat_name>技术</wp:cat_name></wp:category>
<wp:category><wp:term_id>4</wp:term_id><wp:category_nicename>py</wp:category_nicename>
<wp:category_parent>tech</wp:category_parent><wp:cat_name>Python</wp:cat_name></wp:category>
<wp:category><wp:term_id>5</wp:term_id>
<wp:category_nicename>%e7%94%9f%e6%b4%bb</wp:category_nicename>
<wp:category_parent></wp:category_parent><wp:cat_name>生活</wp:cat_name></wp:category>
<wp:category><wp:term_id>6</wp:term_id><wp:category_nicename>empty</wp:category_nicename>
<wp:category_parent></wp:category_parent><wp:cat_name>空</wp:cat_name></wp:category>
<item><title>你好</title><link>https://wp.example.com/tech/py/hello/</link>
<content:encoded><![CDATA[<p>正文</p>]]></content:encoded>
<wp:post_id>7</wp:post_id><wp:post_date_gmt>2019-05-01 00:00:00</wp:post_date_gmt>
<wp:post_name>hello</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<category domain="category" nicename="py">Python</category>
<category domain="category" nicename="%e7%94%9f%e6%b4%bb">生活</category>
</item>
<item><title>tech</title><link>https://wp.example.com/2019/05/tech/</link>
<content:encoded><![CDATA[<p>正文</p>]]></content:encoded>
<wp:post_id>8</wp:post_id><wp:post_date_gmt>2019-05-02 00:00:00</wp:post_date_gmt>
<wp:post_name>tech</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<category domain="category" nicename="tech">技术</category>
<category domain="category" nicename="%e7%94%9f%e6%b4%bb">生活</category>
</item>
</channel></rss>
"""


def test_wordpress_category_permalink_redirects_from_each_category(
    tmp_path: Path, run_cli: Callable[..., Result], make_app: Callable[..., Flask]
) -> None:
    export = write(tmp_path / "wp.xml", WXR)
    run_cli("upgrade")
    result = run_cli("import", str(export))
    assert result.exit_code == 0, result.output
    app = make_app()
    assert location(app, "/tech/py/hello/") == "/posts/hello/"
    # WordPress serves a %category% permalink under each of the post's categories.
    assert location(app, "/生活/hello/") == "/posts/hello/"
    assert location(app, "/tech/hello/") is None  # a parent the post is not in
    # A post whose own name equals a category's is not mistaken for a category permalink.
    assert location(app, "/2019/05/tech/") == "/posts/tech/"
    assert location(app, "/2019/05/生活/") is None
    # The listing of a category that is never a post's first one redirects too.
    assert location(app, "/category/生活/") == "/categories/生活/"
    assert location(app, "/category/tech/py/") == "/categories/Python/"
    assert location(app, "/category/py/") == "/categories/Python/"
    assert location(app, "/category/empty/") is None  # no post: no redirect to an empty list
