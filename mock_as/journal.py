"""The journal as the control API pages it: ``GET /__mock_as__/journal?limit=&after=``.

An answer is a JSON array of entries, oldest first, each with its sequence number ``seq`` (0 for the
first request since the reset). It holds at most ``limit`` entries and at most
:data:`MAX_PAGE_BYTES` of JSON; when more follow, a ``Link: <…?after=N>; rel="next"`` header points
at the next page (``after`` is the ``seq`` of the last entry read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from .errors import json_body
from .state import JOURNAL_LIMIT, Call

MAX_PAGE_BYTES = 8 * 1024 * 1024
"""The most JSON one page of the journal holds (a page holds one entry at least)."""


class PageError(ValueError):
    """A bad ``limit`` or ``after``: the message names it."""


def _whole(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise PageError(f"{name}: expected a whole number from {low} to {high}, got {raw[:20]!r}")
    return int(raw)


def page(
    first: int,
    calls: Iterable[Call],
    keep: Callable[[Call], bool],
    render: Callable[[Call], dict[str, Any]],
    args: Mapping[str, str],
    url: str,
) -> tuple[bytes, dict[str, str]]:
    """One page of ``calls`` (numbered from ``first``) that ``keep`` selects: the JSON body and the
    headers (``Link`` to the next page, if any). ``args`` are the query parameters, ``url`` the
    route's own URL (for the link)."""
    limit = _whole(args, "limit", 1, JOURNAL_LIMIT) or JOURNAL_LIMIT
    after = _whole(args, "after", 0, 2**63 - 1)
    start = 0 if after is None else after + 1
    parts: list[bytes] = []
    size = 2
    last: int | None = None
    more = False
    for seq, call in enumerate(calls, first):
        if seq < start or not keep(call):
            continue
        if len(parts) >= limit:
            more = True
            break
        part = json_body({"seq": seq, **render(call)})
        if parts and size + len(part) + 1 > MAX_PAGE_BYTES:
            more = True
            break
        parts.append(part)
        size += len(part) + 1
        last = seq
    headers: dict[str, str] = {}
    if more and last is not None:
        query = {k: v for k, v in args.items() if k != "after"}
        query["after"] = str(last)
        headers["Link"] = f'<{url}?{urlencode(query)}>; rel="next"'
    return b"[" + b",".join(parts) + b"]", headers
