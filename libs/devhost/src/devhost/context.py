"""``func.Context`` and ``func.Out`` implementations handed to user functions."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

import azure.functions as func
from azure.functions._abc import RetryContext, RpcException, TraceContext

T = TypeVar("T")


class OutputValue(func.Out[T], Generic[T]):
    """Collects the value a function sets on an output binding parameter."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.was_set = False

    def set(self, val: T) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> T:
        return self._value  # type: ignore[return-value]


class _Trace(TraceContext):
    def __init__(self, trace_parent: str) -> None:
        self._parent = trace_parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _NoException(RpcException):
    @property
    def source(self) -> str:
        return ""

    @property
    def stack_trace(self) -> str:
        return ""

    @property
    def message(self) -> str:
        return ""


class _Retry(RetryContext):
    def __init__(self, retry_count: int, max_retry_count: int) -> None:
        self._count = retry_count
        self._max = max_retry_count

    @property
    def retry_count(self) -> int:
        return self._count

    @property
    def max_retry_count(self) -> int:
        return self._max

    @property
    def exception(self) -> RpcException:
        return _NoException()


_thread_local = threading.local


class InvocationContext(func.Context):
    """The ``context`` argument: invocation id, function name and directory, retry context."""

    def __init__(
        self,
        invocation_id: str,
        function_name: str,
        function_directory: str,
        trace_parent: str,
        retry_count: int,
        max_retry_count: int,
    ) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._directory = function_directory
        self._trace = _Trace(trace_parent)
        self._retry = _Retry(retry_count, max_retry_count)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return _thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._directory

    @property
    def trace_context(self) -> TraceContext:
        return self._trace

    @property
    def retry_context(self) -> RetryContext:
        return self._retry
