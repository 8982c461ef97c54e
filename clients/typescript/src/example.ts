// A small use of every service through the typed client, compiled with `tsc --strict` in CI
// (`make client-check`): a path, parameter or field the API does not have fails the build.
import { type Api, type Problem, type Schemas, createApi } from "./client";

export async function me(api: Api): Promise<Schemas["Me"]> {
  const { data, error } = await api.GET("/api/v1/me");
  if (error) throw new Error(error.detail);
  return data;
}

export async function hrPeople(api: Api): Promise<Schemas["PersonRead"][]> {
  const { data, error } = await api.GET("/api/v1/directory/people", {
    params: { query: { role: ["hr"], active: true, limit: 50 } },
  });
  if (error) throw new Error(error.detail);
  return data.items;
}

export async function coreModules(api: Api): Promise<string[]> {
  const { data, error } = await api.GET("/api/v1/training/modules");
  if (error) throw new Error(error.detail);
  return data.items.filter((module) => module.core).map((module) => module.title);
}

export async function myEngagements(api: Api): Promise<Schemas["EngagementRead"][]> {
  const { data, error } = await api.GET("/api/v1/coaching/engagements", {
    params: { query: { limit: 20 } },
  });
  if (error) throw new Error(error.detail);
  return data.items;
}

export async function report(
  api: Api,
  personId: string,
  idempotencyKey: string,
): Promise<Schemas["IncidentRead"] | Problem> {
  const { data, error, response } = await api.POST("/api/v1/incidents", {
    params: { header: { "Idempotency-Key": idempotencyKey } },
    body: {
      person_id: personId,
      channel: "linkedin",
      links: ["https://www.linkedin.com/posts/example"],
      occurred_at: new Date().toISOString(),
      category: "confidential_information",
      description: "Shared the unreleased quarterly figures.",
      severity: "high",
    },
  });
  if (error) return error;
  console.log("created at", response.headers.get("Location"), "version", response.headers.get("ETag"));
  return data;
}

export async function resolve(api: Api, incident: Schemas["IncidentRead"], etag: string) {
  // If-Match is required by the document: leaving it out does not compile.
  const { data, error, response } = await api.PATCH("/api/v1/incidents/{incident_id}", {
    params: { path: { incident_id: incident.id }, header: { "If-Match": etag } },
    body: { status: "resolved", outcome: "violation_confirmed" },
  });
  if (response.status === 412) return "changed since you read it: fetch it again";
  if (error) throw new Error(`${error.title}: ${error.detail}`);
  return data.status;
}

export async function myActions(api: Api): Promise<Schemas["IncidentSummary"][]> {
  const { data, error } = await api.GET("/api/v1/incidents/my-actions");
  if (error) throw new Error(error.detail);
  return data.items;
}

export const api = createApi({ baseUrl: "http://127.0.0.1:8000", token: () => "dev-token" });
