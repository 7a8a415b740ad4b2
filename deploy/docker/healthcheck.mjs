// Container health check for images without a shell or curl: asks the service's own
// grpc.health.v1 over the Connect protocol (plain HTTP/1.1 JSON) and exits 0 only when
// it answers SERVING. HEALTH_URL overrides the address (default: the HTTP_ADDRESS port).
const port = (process.env.HTTP_ADDRESS ?? "0.0.0.0:8081").split(":").pop();
const url = process.env.HEALTH_URL ?? `http://127.0.0.1:${port}/grpc.health.v1.Health/Check`;
try {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(2_000),
  });
  const body = await response.json();
  process.exit(response.ok && body.status === "SERVING" ? 0 : 1);
} catch {
  process.exit(1);
}
