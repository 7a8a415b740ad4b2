import type { K8sObject } from "./render.js";

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** A pod in the namespace, by its labels. */
export interface PodLabels {
  readonly [label: string]: string;
}

/**
 * Whether NetworkPolicies admit a connection from one pod of the namespace to a port of
 * another, by the rules of the Kubernetes API: a pod no Ingress policy selects admits
 * everything; otherwise some rule of some selecting policy must match both the peer and
 * the port. Peers given only by namespaceSelector never match pods of this namespace
 * (they name other namespaces, such as the ingress controller's).
 */
export function admits(policies: readonly K8sObject[], from: PodLabels, to: PodLabels, port: number): boolean {
  const selecting = policies.filter(
    (policy) =>
      policy.kind === "NetworkPolicy" &&
      (policy.spec.policyTypes ?? ["Ingress"]).includes("Ingress") &&
      matches(policy.spec.podSelector, to),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule: { from?: { podSelector?: Selector; namespaceSelector?: Selector }[]; ports?: { port: number }[] }) =>
        (rule.from === undefined ||
          rule.from.some(
            (peer) =>
              peer.namespaceSelector === undefined && peer.podSelector !== undefined && matches(peer.podSelector, from),
          )) &&
        (rule.ports === undefined || rule.ports.some((allowed) => allowed.port === port)),
    ),
  );
}

function matches(selector: Selector | undefined, labels: PodLabels): boolean {
  if (!selector) return true;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === "In") return values.includes(labels[key] ?? "");
    if (operator === "NotIn") return !values.includes(labels[key] ?? "");
    if (operator === "Exists") return key in labels;
    if (operator === "DoesNotExist") return !(key in labels);
    throw new Error(`unknown selector operator ${operator}`);
  });
  return byLabel && byExpression;
}
