"""A self-hosted blog engine for Chinese technical writing."""

from blog.app import create_app

__all__ = ["create_app"]
