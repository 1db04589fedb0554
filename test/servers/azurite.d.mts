export declare const AZURITE_ACCOUNT: string;
export declare const AZURITE_KEY: string;
export interface StartedAzurite {
  readonly endpoint: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL now (for process exit). */
  kill(): void;
}
export declare function startAzurite(dir: string, port: number): Promise<StartedAzurite>;
