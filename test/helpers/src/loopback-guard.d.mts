/** A connect (or a name lookup: address `(dns)`) the guard stopped. */
export interface BlockedConnect {
  readonly host: string;
  readonly address: string;
}

export interface LoopbackGuard {
  /** Every connect or lookup that was stopped, in order. */
  readonly blocked: BlockedConnect[];
  /**
   * Declares stops a test causes on purpose (it shows that the guard, or the code under test,
   * stops them): they are not reported as leaks when the process exits.
   */
  expect(predicate: (entry: BlockedConnect) => boolean): void;
  /** Removes the guard. */
  uninstall(): void;
}

export declare function isLoopback(address: string): boolean;
/** Installs the guard (once per process; later calls return the same guard). */
export declare function guardLoopback(): LoopbackGuard;
