import { type ConsumerConfig, JetStreamApiCodes, type JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { retryDeclaration, unlessNotFound } from "./declaration-retry.js";

/**
 * The revision of what `startConsumer` declares on a durable. Bump it whenever a setting
 * changes meaning, so replicas of two versions agree on whose settings stand: the
 * highest revision's. (2: `max_deliver` unbounded — the consumer bounds attempts itself.)
 */
const durableSettingsRevision = 2;

const marker = /^shopmesh consumer settings r(\d+)$/;
const description = `shopmesh consumer settings r${durableSettingsRevision}`;

/** The revision that declared a durable's settings (0: a version before revisions). */
function revisionOf(config: Pick<ConsumerConfig, "description">): number {
  const match = marker.exec(config.description ?? "");
  return match ? Number(match[1]) : 0;
}

/** A durable and the settings this replica declares for it. */
export interface DurableSettings {
  readonly stream: string;
  readonly config: Partial<ConsumerConfig> & { readonly durable_name: string };
}

/**
 * Creates the durable, or updates it to these settings unless a newer revision
 * declared it: a replica of the version before never undoes the newer one's settings.
 * At the same revision the filter only widens, never narrows: replicas of two
 * releases, one of which subscribes to more of the stream, share the durable during a
 * rollout, and a narrower filter would keep the new subscription's events from it for
 * good (the server skips them). A replica that receives a type it does not subscribe
 * to hands it back for one that does. A release that means to narrow a filter bumps
 * the revision. Answers whether the settings were written.
 */
export function declareDurable(
  jsm: JetStreamManager,
  durable: DurableSettings,
  signal?: AbortSignal,
): Promise<boolean> {
  return retryDeclaration(() => declareOnce(jsm, durable), { signal });
}

async function declareOnce(jsm: JetStreamManager, { stream, config }: DurableSettings): Promise<boolean> {
  const existing = await currentSettings(jsm, stream, config.durable_name);
  if (!existing) {
    await jsm.consumers.add(stream, { ...config, description });
    return true;
  }
  const revision = revisionOf(existing);
  if (revision > durableSettingsRevision) return false;
  const filter_subject =
    revision === durableSettingsRevision
      ? wider(existing.filter_subject, config.filter_subject)
      : config.filter_subject;
  await jsm.consumers.update(stream, config.durable_name, { ...config, filter_subject, description });
  return true;
}

/** A durable's settings, or undefined when it does not exist (see unlessNotFound). */
async function currentSettings(
  jsm: JetStreamManager,
  stream: string,
  durableName: string,
): Promise<ConsumerConfig | undefined> {
  const info = await unlessNotFound(jsm.consumers.info(stream, durableName), JetStreamApiCodes.ConsumerNotFound);
  return info?.config;
}

/** Of two filters of one stream — its whole-stream wildcard or one subject — the wider. */
function wider(existing: string | undefined, declared: string | undefined): string | undefined {
  return existing?.endsWith(".>") && declared?.startsWith(existing.slice(0, -1)) ? existing : declared;
}

/**
 * Puts this revision's settings back whenever an older revision wrote over them — a
 * replica of the previous version that (re)started during a rolling update would
 * otherwise leave, say, a server-side delivery bound that drops events silently —
 * and declares a durable again that was deleted (an operator's mistake), as a start
 * would: the stream is delivered again from its first event, and the inbox makes what
 * was applied a no-op. Checked every `everyMs`; returns a function that stops checking,
 * a check in progress included: one retried through an election could otherwise go on
 * for its 35 s after the consumer stopped, and declare a durable its owner had deleted.
 */
export function keepDurableSettings(
  jsm: JetStreamManager,
  durables: readonly DurableSettings[],
  logger: Logger,
  everyMs: number,
): () => void {
  const stopping = new AbortController();
  const { signal } = stopping;
  const check = async () => {
    for (const durable of durables) {
      signal.throwIfAborted();
      const config = await currentSettings(jsm, durable.stream, durable.config.durable_name);
      if (!config) {
        logger.warn(
          { stream: durable.stream, consumer: durable.config.durable_name },
          "the consumer was deleted; declaring it again",
        );
        await declareDurable(jsm, durable, signal);
        continue;
      }
      if (revisionOf(config) >= durableSettingsRevision) continue;
      logger.warn(
        { stream: durable.stream, consumer: durable.config.durable_name, revision: revisionOf(config) },
        "an older version rewrote the consumer's settings; restoring them",
      );
      await declareDurable(jsm, durable, signal);
    }
  };
  // A check retried through an election can outlast the interval: one at a time.
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch((error) => {
        if (!signal.aborted) logger.warn({ err: error }, "could not check the consumer's settings");
      })
      .finally(() => {
        checking = false;
      });
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    stopping.abort();
  };
}
