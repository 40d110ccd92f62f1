// An integrator's first session, through a TypeScript client: types from openapi-typescript
// over the committed OpenAPI document, calls through openapi-fetch. It type-checks under
// `tsc --strict`, and the same steps as the Python workflow run against a live server.
//
// Usage: node workflow.js BASE_URL TOKEN
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Problem = components["schemas"]["Problem"];
type Practice = components["schemas"]["Practice"];

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

async function main(baseUrl: string, token: string): Promise<void> {
  // Lists also come as CSV and NDJSON; this client reads JSON and problem documents only.
  const api = createClient<paths, "application/json" | "application/problem+json">({ baseUrl });
  const auth = { Authorization: `Bearer ${token}` };

  const first = await api.GET("/api/v1/practices", { params: { query: { commissioner: "05G", limit: 7 } } });
  check(first.response.status === 200 && first.data !== undefined, "list practices");
  const items: Practice[] = first.data?.items ?? [];
  check(items.length === 7, "the page has the size asked for");

  const code = items[0].odsCode;
  const one = await api.GET("/api/v1/practices/{key}", { params: { path: { key: code } } });
  check(one.data?.odsCode === code, `get practice ${code} by ODS code`);
  check((one.response.headers.get("etag") ?? "").startsWith('"'), "it has an ETag");

  const seen: string[] = [];
  let cursor: string | null | undefined = undefined;
  let pages = 0;
  do {
    const page: { data?: components["schemas"]["PracticeList"]; error?: Problem } = await api.GET("/api/v1/practices", {
      params: { query: { commissioner: "05G", limit: 7, after: cursor ?? undefined } },
    });
    if (page.data === undefined) {
      check(false, `page ${pages + 1}: ${JSON.stringify(page.error)}`);
      return;
    }
    seen.push(...page.data.items.map((p) => p.odsCode));
    cursor = page.data.nextCursor;
    pages += 1;
  } while (cursor);
  check(pages >= 3 && new Set(seen).size === seen.length, `paged to the end: ${seen.length} practices in ${pages} pages`);

  const created = await api.POST("/api/v1/placements", {
    headers: auth,
    body: {
      staffRef: "TS-CLIENT-0001",
      roleCode: "physician-associate",
      hostType: "practice",
      hostCode: code,
      hoursPerWeek: 22.5,
      startDate: "2026-09-01",
    },
  });
  check(created.response.status === 201 && created.data !== undefined, "create a placement with a token");
  const id = created.data?.id ?? "";
  const etag = created.response.headers.get("etag") ?? "";

  const read = await api.GET("/api/v1/placements/{key}", { headers: auth, params: { path: { key: id } } });
  check(read.response.headers.get("etag") === etag, "read it back with the same ETag");
  check(read.data?.fte === 0.6, "22.5 hours is 0.6 FTE");

  const ended = await api.POST("/api/v1/placements/{key}/end", {
    headers: auth,
    params: { path: { key: id }, header: { "If-Match": etag } },
    body: { endDate: "2027-08-31" },
  });
  check(ended.data?.endDate === "2027-08-31", "end it with If-Match");
  check(ended.response.headers.get("etag") !== etag, "ending it gives a new ETag");

  const stale = await api.POST("/api/v1/placements/{key}/end", {
    headers: auth,
    params: { path: { key: id }, header: { "If-Match": etag } },
    body: {},
  });
  const conflict: Problem | undefined = stale.error;
  check(stale.response.status === 412 && conflict?.type === "/problems/stale-version", "the old ETag is a typed 412 problem");
  check(conflict?.currentVersion === 2, "it says where the record is");

  const bad = await api.POST("/api/v1/placements", {
    headers: auth,
    body: { staffRef: "", roleCode: "astronaut", hostType: "practice", hostCode: code, hoursPerWeek: 0, startDate: "2026-09-01" },
  });
  const invalid: Problem | undefined = bad.error;
  check(bad.response.status === 422 && invalid?.status === 422, "an invalid placement is a typed 422 problem");
  const fields = (invalid?.errors ?? []).map((e) => e.field).sort();
  check(JSON.stringify(fields) === JSON.stringify(["hoursPerWeek", "roleCode", "staffRef"]), `every field at fault is named: ${fields}`);
}

const [baseUrl, token] = process.argv.slice(2);
main(baseUrl, token).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
