import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

/** What names a service in its telemetry, read from its package.json. */
export interface EntryPackage {
  readonly serviceName: string;
  readonly serviceVersion: string;
}

/**
 * The name and version in the package.json nearest to the entry script's real path:
 * the images start `/app/main.js`, a symlink to the service's `dist/main.js`, and the
 * symlink's own folder has no package.json.
 */
export function entryPackage(entry: string): EntryPackage {
  for (let dir = dirname(realPath(entry)); ; dir = dirname(dir)) {
    try {
      const { name, version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      return { serviceName: (name ?? "unknown").replace(/^@shopmesh\//, ""), serviceVersion: version ?? "0.0.0" };
    } catch {
      if (dirname(dir) === dir) return { serviceName: "unknown", serviceVersion: "0.0.0" };
    }
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
