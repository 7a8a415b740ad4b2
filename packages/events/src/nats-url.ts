/** A NATS server's URL as it may be printed or logged: its user and password left out. */
export function withoutCredentials(server: string): string {
  const url = URL.parse(server);
  if (!url || (!url.username && !url.password)) return server;
  url.username = "";
  url.password = "";
  return url.href.replace(/\/$/, "");
}
