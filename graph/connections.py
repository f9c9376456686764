"""Relay shapes every domain's types share: the Node interface and page info."""

import strawberry


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
