import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { waitFor } from "@shopmesh/testing";

/** Backends of the load balancer, by upstream: `host:port` of each replica. */
export interface Upstreams {
  /** order's gRPC listeners (HTTP/2, h2c). */
  readonly orderGrpc: readonly string[];
  /** order's Connect listeners (HTTP/1.1). */
  readonly orderConnect: readonly string[];
  /** inventory's Connect listeners (the public catalog). */
  readonly catalogConnect: readonly string[];
}

/** A running nginx in front of the replicas. */
export interface LoadBalancer {
  /** gRPC (HTTP/2 without TLS) to order. */
  readonly grpcPort: number;
  /** Connect (HTTP/1.1) to order's and the catalog's public RPCs. */
  readonly httpPort: number;
  /** How many requests each backend answered, per upstream, from nginx's access logs. */
  spread(): Promise<Record<keyof Upstreams, Record<string, number>>>;
  stop(): Promise<void>;
}

/**
 * nginx (Debian's package) as an L7 load balancer: it ends the client's HTTP/2
 * connection and sends each gRPC call and each Connect request to the next replica
 * (round-robin), so one long-lived client connection spreads over every replica.
 * A replica that refuses connections is skipped for a few seconds, and a request that
 * could not reach one is retried on the next: PlaceOrder carries an idempotency key,
 * so resending it (non_idempotent) cannot place a second order.
 */
export async function startLoadBalancer(options: {
  readonly dir: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly upstreams: Upstreams;
  /** The nginx to run; Debian's, else the one on PATH. */
  readonly binary?: string;
}): Promise<LoadBalancer> {
  const { dir, grpcPort, httpPort, upstreams } = options;
  await writeFile(`${dir}/nginx.conf`, nginxConfig(dir, grpcPort, httpPort, upstreams));
  const binary = options.binary ?? (existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx");
  const nginx: ChildProcess = spawn(binary, ["-p", dir, "-c", `${dir}/nginx.conf`], { stdio: "ignore" });
  // A process that could not be started emits "error" and never "exit".
  let exited = false;
  let notStarted: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    nginx.once("exit", () => resolve());
    nginx.once("error", (error) => {
      notStarted = error;
      resolve();
    });
  }).then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) nginx.kill("SIGQUIT");
    await ended;
  };
  try {
    // Listening, or gone: whichever comes first.
    await waitFor(
      async () => exited || (await fetch(`http://127.0.0.1:${httpPort}/nginx-health`).catch(() => undefined))?.ok,
      { timeoutMs: 10_000, intervalMs: 50, description: "nginx to listen" },
    );
    if (notStarted) throw new Error(`nginx did not start (${notStarted.message}); Debian: apt-get install nginx-light`);
    if (exited) throw new Error(`nginx exited; see ${dir}/error.log`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    grpcPort,
    httpPort,
    stop,
    async spread() {
      const counts = { orderGrpc: {}, orderConnect: {}, catalogConnect: {} } as Record<
        keyof Upstreams,
        Record<string, number>
      >;
      for (const file of ["grpc.log", "connect.log"]) {
        const text = await readFile(`${dir}/${file}`, "utf8").catch(() => "");
        for (const line of text.split("\n").filter(Boolean)) {
          const separator = line.indexOf(" ");
          const upstream = line.slice(0, separator) as keyof Upstreams;
          const addresses = line.slice(separator + 1);
          // After a retry nginx logs every backend tried ("a, b"); the last one answered.
          const answered = addresses.split(",").at(-1)?.trim() ?? "-";
          const of = counts[upstream];
          if (of) of[answered] = (of[answered] ?? 0) + 1;
        }
      }
      return counts;
    },
  };
}

function nginxConfig(dir: string, grpcPort: number, httpPort: number, upstreams: Upstreams): string {
  const upstream = (name: string, servers: readonly string[]) =>
    `  upstream ${name} {\n${servers.map((server) => `    server ${server} max_fails=1 fail_timeout=5s;`).join("\n")}\n    keepalive 32;\n  }`;
  const proxy = (name: string) => `proxy_pass http://${name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;`;
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  log_format upstreams '$lb_upstream $upstream_addr';
${upstream("orderGrpc", upstreams.orderGrpc)}
${upstream("orderConnect", upstreams.orderConnect)}
${upstream("catalogConnect", upstreams.catalogConnect)}
  server {
    listen 127.0.0.1:${grpcPort} http2;
    access_log ${dir}/grpc.log upstreams;
    set $lb_upstream orderGrpc;
    location / {
      grpc_pass grpc://orderGrpc;
      grpc_connect_timeout 1s;
      grpc_next_upstream error timeout non_idempotent;
    }
  }
  server {
    listen 127.0.0.1:${httpPort};
    access_log ${dir}/connect.log upstreams;
    location = /nginx-health {
      access_log off;
      return 200 "ok\\n";
    }
    location /shopmesh.order.v1.OrderService/ {
      set $lb_upstream orderConnect;
      ${proxy("orderConnect")}
    }
    location /shopmesh.inventory.v1.CatalogService/ {
      set $lb_upstream catalogConnect;
      ${proxy("catalogConnect")}
    }
  }
}
`;
}
