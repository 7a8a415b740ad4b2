/**
 * A server the harness started itself, and therefore stops.
 */
export interface PrivateServer {
  url: string;
  pid: number;
  /** Stops the process and removes its temp folder. */
  stop(): Promise<void>;
}
