"""A busy store answers HTTP 503 with `Retry-After`, not a bare 500.

`StoreBusy` (the store throttled or was unavailable after its SDK's own retries) and
`ConcurrencyRetriesExhausted` (a hot stream kept clashing) mean "not now": the request may not have
been applied, and sending it again is safe (placing is idempotent by its key, the other use cases
by their state). `answering_busy` wraps an HTTP function so that either becomes
the `service-unavailable` problem (`contracts.api.SERVICE_UNAVAILABLE`). eventkit does not depend
on `azure.functions`: the service passes `respond`, which turns the problem and its headers into
its response.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from contracts.api import SERVICE_UNAVAILABLE
from eventkit.http.problems import ProblemDetails
from eventkit.repository import ConcurrencyRetriesExhausted
from eventkit.store import StoreBusy

F = TypeVar("F", bound=Callable[..., Any])
Respond = Callable[[ProblemDetails, Mapping[str, str]], Any]
BUSY = (StoreBusy, ConcurrencyRetriesExhausted)
log = logging.getLogger("eventkit.http")


def busy_problem(error: BaseException, instance: str) -> tuple[ProblemDetails, dict[str, str]]:
    """The 503 problem for a busy `error` and its `Retry-After` header (whole seconds, at least 1:
    the store's advice rounded up, else 1)."""
    advice = getattr(error, "retry_after", None)
    seconds = max(1, math.ceil(advice)) if isinstance(advice, int | float) else 1
    kind = SERVICE_UNAVAILABLE
    details = ProblemDetails(kind.status, kind.type, kind.title, kind.detail, instance)
    return details, {"Retry-After": str(seconds)}


def answering_busy(respond: Respond) -> Callable[[F], F]:
    """A decorator for HTTP functions (sync or async, kept as they are): a busy error becomes
    `respond(problem, headers)`; the request's URL (the argument named `req`) is the problem's
    `instance`. Anything else passes through."""

    def decorate(route: F) -> F:
        def answer(error: BaseException, kwargs: Mapping[str, Any]) -> Any:
            request = kwargs.get("req")
            log.warning("%s answered 503: %s", route.__name__, error)
            return respond(*busy_problem(error, str(getattr(request, "url", ""))))

        if inspect.iscoroutinefunction(route):

            @functools.wraps(route)
            async def answered_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await route(*args, **kwargs)
                except BUSY as error:
                    return answer(error, kwargs)

            return cast(F, answered_async)

        @functools.wraps(route)
        def answered(*args: Any, **kwargs: Any) -> Any:
            try:
                return route(*args, **kwargs)
            except BUSY as error:
                return answer(error, kwargs)

        return cast(F, answered)

    return decorate
