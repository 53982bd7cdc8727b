"""Drive a Convene server through the generated Python SDK (openapi-python-client).

Usage: python scenario.py BASE_URL

Every HTTP call goes through the generated `convene_client` package (generated at run
time by run.sh); each step checks the status and the data it got and exits non-zero on
the first surprise.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from typing import Any

from convene_client import AuthenticatedClient, Client
from convene_client.api.auth import get_current_user, login_user, register_user
from convene_client.api.events import create_event, list_events, update_event
from convene_client.api.history import diff_event_versions, list_event_versions, rollback_event
from convene_client.api.notifications import list_notifications
from convene_client.api.sharing import share_event
from convene_client.api.users import find_users
from convene_client.models import (
    Changelog,
    Diff,
    EventCreate,
    EventList,
    EventRead,
    EventUpdate,
    GrantedRole,
    LoginRequest,
    NotificationList,
    NotificationReadEventRolledBack,
    NotificationReadPermissionGranted,
    PermissionRead,
    RegisterRequest,
    RoleName,
    ShareEntry,
    Token,
    UserRead,
    UserSummary,
)
from convene_client.types import Response


class ScenarioError(AssertionError):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise ScenarioError(what)


def expect(step: str, resp: Response[Any], status: int, kind: type | None = None) -> Any:
    """Assert the status (and the parsed type) of a response; return the parsed body."""
    if resp.status_code != status:
        raise ScenarioError(
            f"{step}: expected HTTP {status}, got {int(resp.status_code)}: "
            f"{resp.content.decode(errors='replace')[:2000]}"
        )
    if kind is not None:
        parsed = resp.parsed
        if kind is list:
            check(isinstance(parsed, list), f"{step}: expected a list, got {parsed!r}")
        else:
            check(isinstance(parsed, kind), f"{step}: expected {kind.__name__}, got {parsed!r}")
    print(f"ok   {step} -> {int(resp.status_code)}")
    return resp.parsed


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2031, 3, day, hour, minute, tzinfo=dt.timezone.utc)


def main(base_url: str) -> None:
    run = f"{int(time.time()) % 100000:05d}{os.urandom(3).hex()}"
    password = "correct horse battery"
    anon = Client(base_url=base_url, raise_on_unexpected_status=True)

    # 1. Register two users.
    users: dict[str, UserRead] = {}
    for who in ("alice", "bob"):
        name = f"py_{who}_{run}"
        user = expect(
            f"register {who}",
            register_user.sync_detailed(
                client=anon,
                body=RegisterRequest(username=name, email=f"{name}@example.com", password=password),
            ),
            201,
            UserRead,
        )
        check(user.username == name, f"register {who}: username {user.username!r}")
        check(user.role == "user", f"register {who}: role {user.role!r}")
        users[who] = user

    # 2. Log in both (JSON body) and use the bearer token from then on.
    clients: dict[str, AuthenticatedClient] = {}
    for who, user in users.items():
        token = expect(
            f"login {who}",
            login_user.sync_detailed(
                client=anon, body=LoginRequest(username=user.username, password=password)
            ),
            200,
            Token,
        )
        check(token.token_type.lower() == "bearer", f"login {who}: token_type {token.token_type!r}")
        check(bool(token.access_token) and bool(token.refresh_token), f"login {who}: empty tokens")
        c = AuthenticatedClient(
            base_url=base_url, token=token.access_token, raise_on_unexpected_status=True
        )
        me = expect(f"me {who}", get_current_user.sync_detailed(client=c), 200, UserRead)
        check(me.id == user.id, f"me {who}: id {me.id} != {user.id}")
        clients[who] = c
    alice, bob = clients["alice"], clients["bob"]

    # 3. Alice creates an event (version 1).
    first_title = "Planning"
    ev = expect(
        "alice creates event",
        create_event.sync_detailed(
            client=alice,
            body=EventCreate(
                title=first_title,
                start_time=at(3, 9),
                end_time=at(3, 10),
                description="quarterly planning",
                location="Room 1",
            ),
        ),
        201,
        EventRead,
    )
    check(ev.version == 1, f"create: version {ev.version}")
    check(ev.role == RoleName.OWNER, f"create: role {ev.role}")
    check(ev.owner_id == users["alice"].id, f"create: owner_id {ev.owner_id}")
    check(ev.title == first_title and ev.location == "Room 1", f"create: {ev!r}")
    event_id = ev.id

    # 4. Alice looks bob up and shares the event with him as editor.
    found = expect(
        "alice finds bob",
        find_users.sync_detailed(client=alice, username=users["bob"].username.upper()),
        200,
        list,
    )
    check(len(found) == 1 and isinstance(found[0], UserSummary), f"find bob: {found!r}")
    check(found[0].id == users["bob"].id, f"find bob: id {found[0].id} != {users['bob'].id}")
    perms = expect(
        "alice shares with bob (editor)",
        share_event.sync_detailed(
            event_id, client=alice, body=[ShareEntry(user_id=found[0].id, role=GrantedRole.EDITOR)]
        ),
        200,
        list,
    )
    check(len(perms) == 1 and isinstance(perms[0], PermissionRead), f"share: {perms!r}")
    check(
        perms[0].user_id == users["bob"].id and perms[0].role == RoleName.EDITOR,
        f"share: {perms[0]!r}",
    )

    # 5. Bob updates it (PATCH) as editor: version 2.
    second_title = "Planning (moved)"
    ev2 = expect(
        "bob patches event",
        update_event.sync_detailed(
            event_id, client=bob, body=EventUpdate(title=second_title, location=None)
        ),
        200,
        EventRead,
    )
    check(ev2.version == 2, f"patch: version {ev2.version}")
    check(ev2.role == RoleName.EDITOR, f"patch: bob's role {ev2.role}")
    check(ev2.title == second_title and ev2.location is None, f"patch: {ev2!r}")
    check(ev2.description == "quarterly planning", f"patch: description {ev2.description!r}")

    # 6. Alice reads the changelog: versions 1 and 2.
    log = expect(
        "alice reads changelog",
        list_event_versions.sync_detailed(event_id, client=alice),
        200,
        Changelog,
    )
    check([v.version for v in log.items] == [1, 2], f"changelog versions {[v.version for v in log.items]}")
    check([v.change for v in log.items] == ["created", "updated"], f"changelog changes {[v.change for v in log.items]}")
    check(log.items[1].changed_by == users["bob"].id, f"changelog v2 changed_by {log.items[1].changed_by}")
    check(not log.next_cursor, f"changelog next_cursor {log.next_cursor!r}")

    # 7. Diff v1 -> v2: title and location changed, nothing else.
    diff = expect(
        "alice diffs v1..v2",
        diff_event_versions.sync_detailed(event_id, 1, 2, client=alice),
        200,
        Diff,
    )
    check(diff.from_version == 1 and diff.to_version == 2, f"diff versions {diff!r}")
    changes = diff.changes.to_dict()
    check(set(changes) == {"title", "location"}, f"diff fields {sorted(changes)}")
    check(
        changes["title"] == {"from": first_title, "to": second_title},
        f"diff title {changes['title']!r}",
    )
    check(changes["location"] == {"from": "Room 1", "to": None}, f"diff location {changes['location']!r}")

    # 8. Alice rolls back to v1: version 3 with v1's content.
    ev3 = expect(
        "alice rolls back to v1",
        rollback_event.sync_detailed(event_id, 1, client=alice),
        200,
        EventRead,
    )
    check(ev3.version == 3, f"rollback: version {ev3.version}")
    check(ev3.title == first_title and ev3.location == "Room 1", f"rollback: {ev3!r}")
    log = expect(
        "alice re-reads changelog",
        list_event_versions.sync_detailed(event_id, client=alice),
        200,
        Changelog,
    )
    last = log.items[-1]
    check(
        last.version == 3 and last.change == "rolled_back" and last.restored_from == 1,
        f"changelog after rollback: {last!r}",
    )

    # 9. Bob's unread notifications: the share and alice's rollback at least.
    notes = expect(
        "bob lists unread notifications",
        list_notifications.sync_detailed(client=bob, unread_only=True),
        200,
        NotificationList,
    )
    check(len(notes.items) > 0, "bob has no unread notifications")
    check(all(not n.is_read for n in notes.items), "unread_only returned read notifications")
    check(notes.unread_count >= len(notes.items), f"unread_count {notes.unread_count} < {len(notes.items)}")
    kinds = {n.type_ for n in notes.items}
    check({"event_shared", "event_rolled_back"} <= kinds, f"bob's unread kinds {sorted(kinds)}")
    check(all(n.event_id == event_id for n in notes.items), "notification for another event")
    # `data` is typed by `type`: each notification parses into its variant's class.
    shared = next(n for n in notes.items if n.type_ == "event_shared")
    check(isinstance(shared, NotificationReadPermissionGranted), f"event_shared parsed as {type(shared)}")
    check(shared.data.role == GrantedRole.EDITOR, f"event_shared data {shared.data.to_dict()!r}")
    rolled_back = next(n for n in notes.items if n.type_ == "event_rolled_back")
    check(isinstance(rolled_back, NotificationReadEventRolledBack), f"rollback parsed as {type(rolled_back)}")
    check(rolled_back.data.restored_from == 1, f"event_rolled_back data {rolled_back.data.to_dict()!r}")

    # 10. Alice creates 5 more events and pages through hers, 2 at a time.
    expected = {event_id}
    for i in range(5):
        e = expect(
            f"alice creates event {i + 2}",
            create_event.sync_detailed(
                client=alice,
                body=EventCreate(title=f"Event {i + 2}", start_time=at(10 + i, 14), end_time=at(10 + i, 15)),
            ),
            201,
            EventRead,
        )
        expected.add(e.id)
    seen: list[int] = []
    cursor: str | None = None
    for page_no in range(1, 20):
        kwargs: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            kwargs["cursor"] = cursor
        page = expect(
            f"alice lists events page {page_no}",
            list_events.sync_detailed(client=alice, **kwargs),
            200,
            EventList,
        )
        check(len(page.items) <= 2, f"page {page_no}: {len(page.items)} items with limit=2")
        seen.extend(e.id for e in page.items)
        cursor = page.next_cursor or None
        if cursor is None:
            break
    else:
        raise ScenarioError("pagination did not end within 19 pages")
    check(len(seen) == len(set(seen)), f"an event was listed twice: {seen}")
    check(set(seen) == expected, f"listed {sorted(seen)}, expected {sorted(expected)}")
    print(f"ok   paginated {len(seen)} events in {page_no} pages")

    for c in (anon, alice, bob):
        c.get_httpx_client().close()
    print("python scenario: 1 passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: scenario.py BASE_URL")
    try:
        main(sys.argv[1].rstrip("/"))
    except ScenarioError as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        print("python scenario: 0 passed, 1 failed")
        sys.exit(1)
