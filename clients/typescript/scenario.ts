// Drive a Convene server through openapi-fetch, typed by openapi-typescript.
//
// Usage: node dist/scenario.js BASE_URL   (run.sh generates, type-checks, builds and runs)
//
// Every HTTP call goes through openapi-fetch with the generated `paths` types; each step
// checks the status and the data it got and exits non-zero on the first surprise.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/convene.js";

type Schemas = components["schemas"];
type Api = Client<paths>;

class ScenarioError extends Error {}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new ScenarioError(what);
}

/** Assert the status of an openapi-fetch result and return its (present) data. */
function expect<T>(
  step: string,
  result: { data?: T; error?: unknown; response: Response },
  status: number,
): T {
  const { data, error, response } = result;
  if (response.status !== status) {
    throw new ScenarioError(
      `${step}: expected HTTP ${status}, got ${response.status}: ${JSON.stringify(error ?? data)}`,
    );
  }
  if (data === undefined) throw new ScenarioError(`${step}: HTTP ${status} without a body`);
  console.log(`ok   ${step} -> ${response.status}`);
  return data;
}

const at = (day: number, hour: number): string =>
  new Date(Date.UTC(2031, 2, day, hour, 0, 0)).toISOString();

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

async function main(baseUrl: string): Promise<void> {
  const run = `${Math.floor(Date.now() / 1000) % 100000}${Math.random().toString(16).slice(2, 8)}`;
  const password = "correct horse battery";
  const anon: Api = createClient<paths>({ baseUrl });

  // 1. Register two users.
  const users: Record<"alice" | "bob", Schemas["UserRead"]> = {} as never;
  for (const who of ["alice", "bob"] as const) {
    const username = `ts_${who}_${run}`;
    const user = expect(
      `register ${who}`,
      await anon.POST("/api/auth/register", {
        body: { username, email: `${username}@example.com`, password },
      }),
      201,
    );
    check(user.username === username, `register ${who}: username ${user.username}`);
    check(user.role === "user", `register ${who}: role ${user.role}`);
    users[who] = user;
  }

  // 2. Log in both (JSON body); the bearer token goes into each client's headers.
  const clients = {} as Record<"alice" | "bob", Api>;
  for (const who of ["alice", "bob"] as const) {
    const token = expect(
      `login ${who}`,
      await anon.POST("/api/auth/login", {
        body: { username: users[who].username, password },
        headers: { "Content-Type": "application/json" },
      }),
      200,
    );
    check(token.token_type.toLowerCase() === "bearer", `login ${who}: token_type ${token.token_type}`);
    check(token.access_token.length > 0 && token.refresh_token.length > 0, `login ${who}: empty tokens`);
    const client = createClient<paths>({
      baseUrl,
      headers: { Authorization: `Bearer ${token.access_token}` },
    });
    const me = expect(`me ${who}`, await client.GET("/api/auth/me"), 200);
    check(me.id === users[who].id, `me ${who}: id ${me.id} != ${users[who].id}`);
    clients[who] = client;
  }
  const { alice, bob } = clients;

  // 3. Alice creates an event (version 1).
  const firstTitle = "Planning";
  const ev = expect(
    "alice creates event",
    await alice.POST("/api/events", {
      body: {
        title: firstTitle,
        start_time: at(3, 9),
        end_time: at(3, 10),
        description: "quarterly planning",
        location: "Room 1",
      },
    }),
    201,
  );
  check(ev.version === 1, `create: version ${ev.version}`);
  check(ev.role === "owner", `create: role ${ev.role}`);
  check(ev.owner_id === users.alice.id, `create: owner_id ${ev.owner_id}`);
  check(ev.title === firstTitle && ev.location === "Room 1", `create: ${JSON.stringify(ev)}`);
  const eventId = ev.id;

  // 4. Alice looks bob up and shares the event with him as editor.
  const found = expect(
    "alice finds bob",
    await alice.GET("/api/users", {
      params: { query: { username: users.bob.username.toUpperCase() } },
    }),
    200,
  );
  const bobSummary = found[0];
  check(found.length === 1 && bobSummary !== undefined, `find bob: ${JSON.stringify(found)}`);
  check(bobSummary.id === users.bob.id, `find bob: id ${bobSummary.id} != ${users.bob.id}`);
  const perms = expect(
    "alice shares with bob (editor)",
    await alice.POST("/api/events/{id}/share", {
      params: { path: { id: eventId } },
      body: [{ user_id: bobSummary.id, role: "editor" }],
    }),
    200,
  );
  const perm = perms[0];
  check(perms.length === 1 && perm !== undefined, `share: ${JSON.stringify(perms)}`);
  check(perm.user_id === users.bob.id && perm.role === "editor", `share: ${JSON.stringify(perm)}`);

  // 5. Bob updates it (PATCH) as editor: version 2.
  const secondTitle = "Planning (moved)";
  const ev2 = expect(
    "bob patches event",
    await bob.PATCH("/api/events/{id}", {
      params: { path: { id: eventId } },
      body: { title: secondTitle, location: null },
    }),
    200,
  );
  check(ev2.version === 2, `patch: version ${ev2.version}`);
  check(ev2.role === "editor", `patch: bob's role ${ev2.role}`);
  check(ev2.title === secondTitle && ev2.location === null, `patch: ${JSON.stringify(ev2)}`);
  check(ev2.description === "quarterly planning", `patch: description ${ev2.description}`);

  // 6. Alice reads the changelog: versions 1 and 2.
  let log = expect(
    "alice reads changelog",
    await alice.GET("/api/events/{id}/changelog", { params: { path: { id: eventId } } }),
    200,
  );
  check(same(log.items.map((v) => v.version), [1, 2]), `changelog versions ${JSON.stringify(log.items)}`);
  check(same(log.items.map((v) => v.change), ["created", "updated"]), "changelog changes");
  check(log.items[1]?.changed_by === users.bob.id, `changelog v2 changed_by ${log.items[1]?.changed_by}`);
  check(!log.next_cursor, `changelog next_cursor ${log.next_cursor}`);

  // 7. Diff v1 -> v2: title and location changed, nothing else.
  const diff = expect(
    "alice diffs v1..v2",
    await alice.GET("/api/events/{id}/diff/{v1}/{v2}", {
      params: { path: { id: eventId, v1: 1, v2: 2 } },
    }),
    200,
  );
  check(diff.from_version === 1 && diff.to_version === 2, `diff versions ${JSON.stringify(diff)}`);
  check(same(Object.keys(diff.changes).sort(), ["location", "title"]), `diff fields ${JSON.stringify(diff.changes)}`);
  const titleChange: Schemas["FieldDiff"] | undefined = diff.changes["title"];
  const locationChange: Schemas["FieldDiff"] | undefined = diff.changes["location"];
  check(titleChange?.from === firstTitle && titleChange.to === secondTitle, `diff title ${JSON.stringify(titleChange)}`);
  check(locationChange?.from === "Room 1" && locationChange.to === null, `diff location ${JSON.stringify(locationChange)}`);

  // 8. Alice rolls back to v1: version 3 with v1's content.
  const ev3 = expect(
    "alice rolls back to v1",
    await alice.POST("/api/events/{id}/rollback/{version}", {
      params: { path: { id: eventId, version: 1 } },
    }),
    200,
  );
  check(ev3.version === 3, `rollback: version ${ev3.version}`);
  check(ev3.title === firstTitle && ev3.location === "Room 1", `rollback: ${JSON.stringify(ev3)}`);
  log = expect(
    "alice re-reads changelog",
    await alice.GET("/api/events/{id}/changelog", { params: { path: { id: eventId } } }),
    200,
  );
  const last = log.items[log.items.length - 1];
  check(
    last?.version === 3 && last.change === "rolled_back" && last.restored_from === 1,
    `changelog after rollback: ${JSON.stringify(last)}`,
  );

  // 9. Bob's unread notifications: the share and alice's rollback at least.
  const notes = expect(
    "bob lists unread notifications",
    await bob.GET("/api/notifications", { params: { query: { unread_only: true } } }),
    200,
  );
  check(notes.items.length > 0, "bob has no unread notifications");
  check(notes.items.every((n) => !n.is_read), "unread_only returned read notifications");
  check(notes.unread_count >= notes.items.length, `unread_count ${notes.unread_count} < ${notes.items.length}`);
  const kinds = new Set(notes.items.map((n) => n.type));
  check(kinds.has("event_shared") && kinds.has("event_rolled_back"), `bob's unread kinds ${[...kinds].join(",")}`);
  check(notes.items.every((n) => n.event_id === eventId), "notification for another event");
  // `data` is typed by `type`: narrowing to a sharing notification types `data.role`.
  const shared = notes.items.find(
    (n): n is Schemas["NotificationReadPermissionGranted"] => n.type === "event_shared",
  );
  check(shared?.data.role === "editor", `event_shared data ${JSON.stringify(shared?.data)}`);
  const rolledBack = notes.items.find(
    (n): n is Schemas["NotificationReadEventRolledBack"] => n.type === "event_rolled_back",
  );
  check(rolledBack?.data.restored_from === 1, `event_rolled_back data ${JSON.stringify(rolledBack?.data)}`);

  // 10. Alice creates 5 more events and pages through hers, 2 at a time.
  const expected = new Set<number>([eventId]);
  for (let i = 0; i < 5; i++) {
    const e = expect(
      `alice creates event ${i + 2}`,
      await alice.POST("/api/events", {
        body: { title: `Event ${i + 2}`, start_time: at(10 + i, 14), end_time: at(10 + i, 15) },
      }),
      201,
    );
    expected.add(e.id);
  }
  const seen: number[] = [];
  let cursor: string | undefined;
  let pageNo = 0;
  for (;;) {
    pageNo += 1;
    check(pageNo < 20, "pagination did not end within 19 pages");
    const page = expect(
      `alice lists events page ${pageNo}`,
      await alice.GET("/api/events", {
        params: { query: cursor === undefined ? { limit: 2 } : { limit: 2, cursor } },
      }),
      200,
    );
    check(page.items.length <= 2, `page ${pageNo}: ${page.items.length} items with limit=2`);
    seen.push(...page.items.map((e) => e.id));
    cursor = page.next_cursor ?? undefined;
    if (cursor === undefined) break;
  }
  check(new Set(seen).size === seen.length, `an event was listed twice: ${seen.join(",")}`);
  check(
    same([...seen].sort((a, b) => a - b), [...expected].sort((a, b) => a - b)),
    `listed ${seen.join(",")}, expected ${[...expected].join(",")}`,
  );
  console.log(`ok   paginated ${seen.length} events in ${pageNo} pages`);
  console.log("typescript scenario: 1 passed, 0 failed");
}

const baseUrl = process.argv[2];
if (baseUrl === undefined || process.argv.length !== 3) {
  console.error("usage: node dist/scenario.js BASE_URL");
  process.exit(2);
}
main(baseUrl.replace(/\/+$/, "")).catch((err: unknown) => {
  console.error(`FAIL ${err instanceof ScenarioError ? err.message : String(err instanceof Error ? err.stack : err)}`);
  console.log("typescript scenario: 0 passed, 1 failed");
  process.exit(1);
});
