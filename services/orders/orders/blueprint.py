"""A typed face on `azure.durable_functions.Blueprint`, which ships no type information.

Each method forwards to the SDK's decorator of the same name with the same arguments, so the
function app indexes exactly what the SDK registers; only the static types are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import azure.durable_functions as df

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


class DurableBlueprint:
    """The decorators the orders service uses; register `.functions` with the app."""

    def __init__(self) -> None:
        self.functions: Any = df.Blueprint()

    def route(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.route(**kwargs))

    def durable_client_input(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.durable_client_input(**kwargs))

    def orchestration_trigger(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.orchestration_trigger(**kwargs))

    def activity_trigger(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.activity_trigger(**kwargs))

    def service_bus_topic_trigger(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.service_bus_topic_trigger(**kwargs))

    def cosmos_db_trigger(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.cosmos_db_trigger(**kwargs))

    def retry(self, **kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], self.functions.retry(**kwargs))
