import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml } from "yaml";

/** A Kubernetes object as rendered: enough typing to walk it in tests. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML is walked field by field in the tests.
  readonly spec?: any;
  readonly data?: Record<string, string>;
}

/** The deploy/ folder. */
export const deployDir = fileURLToPath(new URL("..", import.meta.url));

/** Renders a kustomization under deploy/k8s (such as "overlays/production") with kubectl's kustomize. */
export function renderKustomization(path: string): K8sObject[] {
  const output = execFileSync("kubectl", ["kustomize", `${deployDir}/k8s/${path}`], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** deploy/compose.yaml as Compose resolves it (`docker-compose config`: no engine needed). */
// biome-ignore lint/suspicious/noExplicitAny: the resolved compose file is walked field by field in the tests.
export function renderCompose(env: Record<string, string> = {}): any {
  const output = execFileSync("docker-compose", ["-f", `${deployDir}/compose.yaml`, "config"], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return parseYaml(output);
}
