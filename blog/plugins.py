"""Plugin discovery, configuration and guarded hook calls.

Plugins come from the ``blog.plugins`` entry point group (the built-ins too) and from
single ``.py`` files in ``instance/plugins/``. Only those named in ``PLUGINS`` are
registered. Each hook implementation is called on its own so that one plugin's
exception is logged with its name and skipped, never taking other plugins down.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_type_hints

import pluggy

from blog import hookspecs
from blog.config import ConfigError

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


class Plugins:
    """The plugins of one app: their registry, configuration and guarded hook calls."""

    def __init__(self, strict: bool = False) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
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
            try:
                self.manager.register(module, name=name)
            except Exception as error:
                self._fail(info, f"failed to register: {error}")
                continue
            info.status = "enabled"
            self.order.append(name)
        unknown = set(tables) - set(self.order) - {i.name for i in self.infos.values()}
        for name in sorted(unknown):
            logger.warning("[plugins.%s] configures a plugin that is not installed", name)

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.status, info.reason = "failed", reason
        logger.error("plugin %s %s", info.name, reason)
        if self.strict:
            raise PluginError(f"plugin {info.name} {reason}")

    def start(self, app: Any) -> None:
        """Run ``blog_startup``; a plugin that raises there is marked failed."""
        for plugin, function, _argnames in list(self._implementations("blog_startup")):
            ok, _result = self._guarded(plugin, "blog_startup", function, {"app": app})
            if not ok:
                self.infos[plugin].status = "failed"
                self.infos[plugin].reason = "raised in blog_startup (see the log)"
                self.manager.unregister(name=plugin)
                self.order.remove(plugin)

    def config_for(self, name: str) -> Any:
        info = self.infos.get(name)
        return info.config if info else None

    def fingerprint_parts(self) -> list[str]:
        """Describe the enabled plugins, versions and configuration for the render fingerprint."""
        return [
            f"{name}={self.infos[name].version}:{self.infos[name].config!r}" for name in self.order
        ]

    def _implementations(
        self, hook_name: str
    ) -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
        caller = getattr(self.manager.hook, hook_name)
        by_plugin = {self.manager.get_name(impl.plugin): impl for impl in caller.get_hookimpls()}
        for name in self.order:
            impl = by_plugin.get(name)
            if impl is not None:
                yield name, impl.function, list(impl.argnames)

    def _guarded(
        self, plugin: str, hook_name: str, function: Callable[..., Any], kwargs: dict[str, Any]
    ) -> tuple[bool, Any]:
        try:
            return True, function(**kwargs)
        except Exception as error:
            if self.strict:
                raise
            logger.exception("plugin %s raised in %s: %s", plugin, hook_name, error)
            return False, None

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation; return ``(plugin, result)`` for those that did not raise."""
        results = []
        for plugin, function, argnames in self._implementations(hook_name):
            ok, result = self._guarded(
                plugin, hook_name, function, {a: kwargs[a] for a in argnames}
            )
            if ok and result is not None:
                results.append((plugin, result))
        return results

    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Return the first non-``None`` result, in plugin order."""
        for plugin, function, argnames in self._implementations(hook_name):
            ok, result = self._guarded(
                plugin, hook_name, function, {a: kwargs[a] for a in argnames}
            )
            if ok and result is not None:
                return result
        return None

    def call_chain(self, hook_name: str, value_arg: str, value: Any, **kwargs: Any) -> Any:
        """Pass ``value`` through every implementation; ``None`` leaves it unchanged."""
        for plugin, function, argnames in self._implementations(hook_name):
            arguments = {**kwargs, value_arg: value}
            ok, result = self._guarded(
                plugin, hook_name, function, {a: arguments[a] for a in argnames}
            )
            if ok and result is not None:
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
