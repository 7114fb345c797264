"""Exceptions raised by devhost. Every message names what was wrong and what to do."""

from __future__ import annotations


class DevhostError(Exception):
    """Base class of every error devhost raises on purpose."""


class AppLoadError(DevhostError):
    """An app's ``function_app.py`` could not be imported or indexed.

    ``traceback_text`` holds the full traceback of the failure, as the user would see it
    from the Python worker, so that it can be printed instead of "0 functions loaded".
    """

    def __init__(self, app_dir: str, message: str, traceback_text: str) -> None:
        super().__init__(f"app {app_dir!r} failed to load: {message}")
        self.app_dir = app_dir
        self.traceback_text = traceback_text


class SettingsError(DevhostError):
    """``local.settings.json`` is not valid."""


class UnresolvedSettingError(DevhostError):
    """A ``%Name%`` expression in a binding setting names an app setting that is not set."""

    def __init__(self, function: str, binding_setting: str, missing_setting: str) -> None:
        super().__init__(
            f"function {function!r}: binding setting {binding_setting!r} refers to app setting "
            f"%{missing_setting}%, which is not set; add {missing_setting!r} to local.settings.json "
            f"Values or to the environment"
        )
        self.function = function
        self.binding_setting = binding_setting
        self.missing_setting = missing_setting


class ConnectionNotFoundError(DevhostError):
    """A binding's ``connection`` names a setting that exists in no form."""


class RealAzureNotSupportedError(DevhostError):
    """A connection points at a real Azure resource; devhost only runs embedded infrastructure."""


class HostJsonError(DevhostError):
    """``host.json`` is not valid JSON or holds a value of the wrong shape."""


class ScheduleError(DevhostError):
    """A timer schedule is neither a valid NCRONTAB expression nor a TimeSpan."""


class RouteTemplateError(DevhostError):
    """An HTTP route template cannot be parsed (bad braces, unknown constraint...)."""
