"""Fixture app whose import fails: devhost must show this traceback, not "0 functions loaded"."""

import azure.functions as func
from missing_module_for_devhost_test import something  # noqa: F401

app = func.FunctionApp()
