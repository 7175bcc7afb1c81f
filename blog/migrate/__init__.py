"""Moving a whole Hexo, Hugo, Jekyll or WordPress site in.

The pipeline, one module per step:

- ``site``: recognise what ``blog import PATH`` was given and read its configuration;
- ``hexo`` / ``hugo`` / ``jekyll`` / ``wordpress``: turn one source file into a
  :class:`~blog.migrate.draft.PostDraft` (tag plugins, shortcodes and Liquid converted,
  every construct counted in a :class:`~blog.migrate.report.FileReport`);
- ``assets``: find the images a draft points at, inside the source folder only;
- ``blog.importer``: store drafts through the normal save path and record old URLs.

Reading and converting a file touches nothing but the source folder, so it can run in
worker processes; storing is the only step that writes.
"""
