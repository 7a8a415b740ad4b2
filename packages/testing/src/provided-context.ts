/**
 * Values the global setup hands to test files through vitest's `provide`/`inject`.
 */
declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the PostgreSQL server for this run. */
    databaseUrl: string;
    /** URL of the NATS server (JetStream enabled) for this run. */
    natsUrl: string;
  }
}

export {};
