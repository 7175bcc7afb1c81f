"""Built-in plugins, installed as ``blog_plugins``; each registers through the public API."""
