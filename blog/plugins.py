"""Plugin discovery, configuration and guarded hook calls.

Plugins come from the ``blog.plugins`` entry point group (the built-ins too) and from
single ``.py`` files in ``instance/plugins/``. Only those named in ``PLUGINS`` are
registered. Hooks are called through pluggy; each implementation is registered behind a
guard so that one plugin's exception is logged with its name and skipped, never taking
other plugins down, and a render can tell which plugin failed (see :class:`Plugins`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import logging
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_type_hints

import pluggy

from blog import hookspecs
from blog.config import ConfigError
from blog.fragments import FragmentCache
from blog.textscan import TransformFailed, transform_text

logger = logging.getLogger("blog.plugins")

ENTRY_POINT_GROUP = "blog.plugins"


@dataclass
class PluginInfo:
    """What ``blog plugins`` shows about one discovered plugin."""

    name: str
    source: str
    status: str = "disabled"
    version: str = ""
    reason: str = ""
    module: types.ModuleType | None = field(default=None, repr=False)
    config: Any = None


class PluginError(Exception):
    """A plugin failed while ``STRICT_PLUGINS`` is on."""


class IncompatiblePluginError(Exception):
    """A plugin needs another plugin API or implements hooks that do not exist."""


def _discover(
    instance_path: Path,
) -> list[tuple[str, str, str, Callable[[], types.ModuleType]]]:
    """Return ``(name, source, version, loader)`` for every plugin that could be enabled.

    The version of an entry point is its distribution's until the module is imported;
    disabled plugins are never imported.
    """
    found: list[tuple[str, str, str, Callable[[], types.ModuleType]]] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        dist = point.dist.name if point.dist else "?"
        version = point.dist.version if point.dist else ""
        found.append((point.name, f"entry point {point.value} ({dist})", version, point.load))
    local_dir = instance_path / "plugins"
    if local_dir.is_dir():
        for path in sorted(local_dir.glob("*.py")):
            found.append((path.stem, f"file {path}", "", _file_loader(path)))
    return found


def _file_loader(path: Path) -> Callable[[], types.ModuleType]:
    def load() -> types.ModuleType:
        module_name = f"blog_local_plugins.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module

    return load


def build_plugin_config(
    name: str, module: types.ModuleType, table: dict[str, Any], source: str
) -> Any:
    """Instantiate the plugin's ``Config`` dataclass from its ``[plugins.<name>]`` table."""
    schema = getattr(module, "Config", None)
    if schema is None:
        if table:
            raise ConfigError(
                f"{source}: plugin {name!r} takes no configuration, got {sorted(table)}"
            )
        return None
    hints = get_type_hints(schema)
    known = {f.name for f in dataclasses.fields(schema)}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{source}: [plugins.{name}] unknown key {key!r}")
        if not _matches(value, hints[key]):
            raise ConfigError(
                f"{source}: [plugins.{name}] key {key!r} must be {hints[key]}, "
                f"got {type(value).__name__}"
            )
    try:
        return schema(**table)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: [plugins.{name}] {error}") from None


def _matches(value: Any, expected: Any) -> bool:
    origin = getattr(expected, "__origin__", None)
    if origin is None:
        if expected is float:
            return isinstance(value, int | float) and not isinstance(value, bool)
        if expected is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if isinstance(expected, type):
            return isinstance(value, expected)
        return True
    if origin in (list, tuple, set):
        (item_type, *_rest) = expected.__args__ or (Any,)
        return isinstance(value, list) and all(_matches(v, item_type) for v in value)
    if origin is dict:
        key_type, value_type = expected.__args__
        return isinstance(value, dict) and all(
            _matches(k, key_type) and _matches(v, value_type) for k, v in value.items()
        )
    if origin is types.UnionType or str(origin) == "typing.Union":
        return any(_matches(value, option) for option in expected.__args__)
    return isinstance(value, origin)


@dataclass(frozen=True)
class PluginProblem:
    """One hook implementation that raised while a post was rendered."""

    plugin: str
    hook: str
    error: str
    #: The exception's message and traceback, for the log (not stored with the post).
    message: str = field(default="", compare=False)
    details: str = field(default="", compare=False)

    def as_json(self) -> dict[str, str]:
        return {"plugin": self.plugin, "hook": self.hook, "error": self.error}

    def log(self) -> None:
        """Log the failure as the guard does when it is not deferred."""
        logger.error(
            "plugin %s raised in %s: %s\n%s", self.plugin, self.hook, self.message, self.details
        )


# The problems of the render under way in this context (``None`` outside a render). A
# context variable rather than an argument: the guard sits between pluggy and the plugin,
# where no caller's argument can reach it.
_problems: ContextVar[list[PluginProblem] | None] = ContextVar("blog_plugin_problems", default=None)
# Whether the guard leaves logging to whoever collects the problems: a render run in a
# child process sends its problems back, and the parent logs them where its handlers
# (and tests' log capture) can see them.
_log_deferred: ContextVar[bool] = ContextVar("blog_plugin_log_deferred", default=False)


@contextmanager
def collecting_problems(*, defer_logging: bool = False) -> Iterator[list[PluginProblem]]:
    """Collect, in the list this yields, every hook implementation that raises inside.

    With ``defer_logging`` the guard does not log them; the caller calls
    :meth:`PluginProblem.log` (a render in a child process does so in the parent).
    """
    problems: list[PluginProblem] = []
    token = _problems.set(problems)
    deferred = _log_deferred.set(defer_logging)
    try:
        yield problems
    finally:
        _log_deferred.reset(deferred)
        _problems.reset(token)


class Plugins:
    """The plugins of one app: their registry, configuration and isolated hook calls.

    Hooks are called through pluggy itself (:attr:`hooks`, i.e. ``manager.hook``), so
    ``firstresult``, ``tryfirst``/``trylast`` and wrappers behave as pluggy documents.
    Every implementation is registered behind a guard: when it raises, the error is logged
    with the plugin's name, recorded for the render under way (see
    :func:`collecting_problems`) and the implementation counts as having returned
    ``None``; with ``STRICT_PLUGINS`` the exception propagates instead.
    """

    def __init__(self, strict: bool = False) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.hooks = self.manager.hook
        self.strict = strict
        self.infos: dict[str, PluginInfo] = {}
        self.order: list[str] = []

    def load(
        self,
        instance_path: Path,
        enabled: list[str],
        tables: dict[str, dict[str, Any]],
        sources: dict[str, str],
    ) -> None:
        """Discover plugins, then register and configure the enabled ones in ``enabled`` order."""
        loaders: dict[str, Callable[[], types.ModuleType]] = {}
        for name, source, version, loader in _discover(instance_path):
            self.infos.setdefault(name, PluginInfo(name=name, source=source, version=version))
            loaders.setdefault(name, loader)
        loaded: list[tuple[str, types.ModuleType]] = []
        for name in enabled:
            if name not in loaders:
                info = self.infos.setdefault(name, PluginInfo(name=name, source="(not found)"))
                self._fail(info, "listed in PLUGINS but not installed")
                continue
            info = self.infos[name]
            try:
                module = loaders[name]()
            except Exception as error:
                self._fail(info, f"failed to import: {type(error).__name__}: {error}")
                continue
            try:
                _check_api(module)
                _check_hook_names(module)
            except IncompatiblePluginError as error:
                self._fail(info, str(error))
                continue
            source = sources.get(f"plugins.{name}", "config")
            info.config = build_plugin_config(name, module, tables.get(name, {}), source)
            info.module = module
            info.version = str(getattr(module, "__version__", ""))
            loaded.append((name, module))
        # pluggy calls the implementations registered last first; registering in reverse
        # makes ``PLUGINS`` order the calling order (tryfirst/trylast still override it).
        registered: list[str] = []
        for name, module in reversed(loaded):
            try:
                self.manager.register(self._guarded_plugin(name, module), name=name)
            except Exception as error:
                self._fail(self.infos[name], f"failed to register: {error}")
                continue
            registered.append(name)
        for name, _module in loaded:
            if name in registered:
                self.infos[name].status = "enabled"
                self.order.append(name)
        unknown = set(tables) - set(self.order) - {i.name for i in self.infos.values()}
        for name in sorted(unknown):
            logger.warning("[plugins.%s] configures a plugin that is not installed", name)

    def _guarded_plugin(self, name: str, module: types.ModuleType) -> types.SimpleNamespace:
        """What pluggy registers for ``module``: its hook functions, each behind a guard."""
        marker = f"{hookspecs.PROJECT}_impl"
        functions: dict[str, Any] = {}
        for attribute in dir(module):
            if not attribute.startswith("blog_"):
                continue
            function = getattr(module, attribute)
            options = getattr(function, marker, None)
            if options is None:
                continue
            if options.get("wrapper") or options.get("hookwrapper"):
                functions[attribute] = function  # a wrapper sees and re-raises inner errors
            else:
                functions[attribute] = self._guarded(name, attribute, function)
        return types.SimpleNamespace(__name__=module.__name__, **functions)

    def _guarded(
        self, plugin: str, hook_name: str, function: Callable[..., Any]
    ) -> Callable[..., Any]:
        strict = self.strict

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                if strict:
                    raise
                if not _log_deferred.get():
                    logger.exception("plugin %s raised in %s: %s", plugin, hook_name, error)
                problems = _problems.get()
                if problems is not None:
                    problems.append(
                        PluginProblem(
                            plugin,
                            hook_name,
                            f"{type(error).__name__}: {error}",
                            message=str(error),
                            details=traceback.format_exc(),
                        )
                    )
                return None

        return guarded

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.status, info.reason = "failed", reason
        logger.error("plugin %s %s", info.name, reason)
        if self.strict:
            raise PluginError(f"plugin {info.name} {reason}")

    def start(self, app: Any) -> None:
        """Run ``blog_startup``; a plugin that raises there is marked failed and unregistered."""
        with collecting_problems() as problems:
            self.hooks.blog_startup(app=app)
        for plugin in dict.fromkeys(problem.plugin for problem in problems):
            self.infos[plugin].status = "failed"
            self.infos[plugin].reason = "raised in blog_startup (see the log)"
            self.manager.unregister(name=plugin)
            self.order.remove(plugin)

    def transform_text(self, request: Any, response: Any, cache: FragmentCache | None) -> None:
        """Apply every plugin's ``blog_text_transform`` to the text of ``response``, in one
        scan (:mod:`blog.textscan`); fragments are kept in ``cache``.

        A transform that raises is logged with its name and left out of this response (the
        others still apply); in strict mode the error propagates.
        """
        transforms = self.hooks.blog_text_transform(request=request, response=response)
        if not transforms:
            return
        page = response.get_data(as_text=True)
        xml = response.mimetype != "text/html"
        while transforms:
            try:
                transformed = transform_text(page, transforms, xml=xml, cache=cache)
            except TransformFailed as failure:
                if self.strict:
                    raise
                logger.error(
                    "%s: %s (the response is sent without it)",
                    failure,
                    failure.__cause__,
                    exc_info=failure.__cause__,
                )
                transforms = [t for t in transforms if t is not failure.transform]
                continue
            if transformed != page:
                response.set_data(transformed)
            return

    def config_for(self, name: str) -> Any:
        info = self.infos.get(name)
        return info.config if info else None

    def fingerprint_parts(self) -> list[str]:
        """Describe the enabled plugins, versions and configuration for the render fingerprint."""
        return [
            f"{name}={self.infos[name].version}:{self.infos[name].config!r}" for name in self.order
        ]

    def chain(self, hook_name: str, value_arg: str, value: Any, **kwargs: Any) -> Any:
        """Pass ``value`` through every implementation of a chain hook, in calling order.

        pluggy gives every implementation the same arguments; a chain gives each one the
        previous one's result (``None`` leaves it unchanged). The order is pluggy's own
        (``PLUGINS`` order, then ``tryfirst``/``trylast``), read from the hook caller.
        """
        caller = getattr(self.hooks, hook_name)
        for implementation in reversed(caller.get_hookimpls()):
            arguments = {**kwargs, value_arg: value}
            result = implementation.function(*(arguments[a] for a in implementation.argnames))
            if result is not None:
                value = result
        return value


def _check_api(module: types.ModuleType) -> None:
    required = getattr(module, "REQUIRES_API", None)
    if required is None:
        return
    have = hookspecs.API_VERSION.split(".")[0]
    if str(required).split(".")[0] != have:
        raise IncompatiblePluginError(
            f"needs plugin API {required}, this core provides {hookspecs.API_VERSION}"
        )


def _check_hook_names(module: types.ModuleType) -> None:
    # pluggy registers a misspelt hook without complaint and never calls it; a plugin
    # author deserves to hear about it at start-up instead.
    marker = f"{hookspecs.PROJECT}_impl"
    for attribute in dir(module):
        function = getattr(module, attribute)
        if not attribute.startswith("blog_") or not callable(function):
            continue
        if not hasattr(hookspecs, attribute):
            raise IncompatiblePluginError(f"{attribute} is not a hook (see blog/hookspecs.py)")
        if not hasattr(function, marker):
            raise IncompatiblePluginError(f"{attribute} lacks the @hookimpl decorator")


def plugin_static_dirs(plugins: Plugins) -> dict[str, Path]:
    """Map each enabled plugin with a ``static/`` folder to that folder."""
    folders = {}
    for name in plugins.order:
        module = plugins.infos[name].module
        if module is None or not getattr(module, "__file__", None):
            continue
        static = Path(str(module.__file__)).parent / "static"
        if static.is_dir() and Path(str(module.__file__)).name == "__init__.py":
            folders[name] = static
    return folders


def plugin_template_dirs(plugins: Plugins) -> list[Path]:
    """Return the ``templates/`` folders of enabled plugin packages, in plugin order."""
    folders = []
    for name in plugins.order:
        module = plugins.infos[name].module
        if module is None or not getattr(module, "__file__", None):
            continue
        templates = Path(str(module.__file__)).parent / "templates"
        if templates.is_dir() and Path(str(module.__file__)).name == "__init__.py":
            folders.append(templates)
    return folders
