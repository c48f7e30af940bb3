"""The ids a log line is about (request, run, VM), carried by context variables.

The domain sets them where it takes up a request or a run; `bot.logs` adds them to every line
written meanwhile. Context variables follow threads started with `contextvars.copy_context`
and asyncio tasks, and are reset when the block ends, so a line never carries stale ids.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

request_id: ContextVar[int | None] = ContextVar("request_id", default=None)
run_id: ContextVar[int | None] = ContextVar("run_id", default=None)
vm: ContextVar[str | None] = ContextVar("vm", default=None)


@contextmanager
def log_context(*, request: int | None = None, run: int | None = None,
                vm_name: str | None = None) -> Iterator[None]:
    """Lines logged inside the block carry these ids (those left None keep the outer ones)."""
    ints = [(var, var.set(value)) for var, value in ((request_id, request), (run_id, run))
            if value is not None]
    name = vm.set(vm_name) if vm_name is not None else None
    try:
        yield
    finally:
        if name is not None:
            vm.reset(name)
        for var, token in reversed(ints):
            var.reset(token)


def current() -> dict[str, int | str]:
    """The ids set here, by field name (`request_id`, `run_id`, `vm`), for a log record."""
    values: dict[str, int | str | None] = {"request_id": request_id.get(),
                                           "run_id": run_id.get(), "vm": vm.get()}
    return {key: value for key, value in values.items() if value is not None}


Method = TypeVar("Method", bound=Callable[..., Any])


def about_request(method: Method) -> Method:
    """A method's lines carry the request id of its first argument: the id itself, or
    anything with a `request_id` (a click)."""
    @functools.wraps(method)
    def wrapper(self: object, first: object, *args: Any, **kwargs: Any) -> Any:
        number = first if isinstance(first, int) else getattr(first, "request_id", None)
        with log_context(request=number if isinstance(number, int) else None):
            return method(self, first, *args, **kwargs)
    return cast(Method, wrapper)
