/**
 * Password-guessing brakes: failed logins counted per account and per source address in fixed
 * windows, in the table so every instance (every Lambda) sees the same counts. While a counter is
 * at its limit, logins for that account (or from that address) are refused without checking the
 * secret, until the window ends. A successful login clears the account's counter, not the
 * address's. Windows end by the clock, read here, whatever a store's TTL does.
 */
import { ConditionFailedError, type Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';

export interface ThrottleLimit {
  /** Failures allowed in one window; the next attempt is refused. */
  maxFailures: number;
  windowSeconds: number;
}

export interface ThrottleSettings {
  perAccount: ThrottleLimit;
  perAddress: ThrottleLimit;
}

export const defaultThrottle: ThrottleSettings = {
  perAccount: { maxFailures: 5, windowSeconds: 15 * 60 },
  perAddress: { maxFailures: 30, windowSeconds: 15 * 60 },
};

type Counter = { who: string; limit: ThrottleLimit };

export class LoginThrottle {
  constructor(private readonly deps: { table: Table; now: () => number; settings: ThrottleSettings }) {}

  /** Seconds until a login for `account` from `address` may be tried again; undefined when it may now. */
  async retryAfter(account: string | undefined, address: string | undefined): Promise<number | undefined> {
    const waits = await Promise.all(this.counters(account, address).map((c) => this.wait(c)));
    const longest = Math.max(0, ...waits);
    return longest > 0 ? longest : undefined;
  }

  async failed(account: string | undefined, address: string | undefined): Promise<void> {
    await Promise.all(this.counters(account, address).map((c) => this.increment(c)));
  }

  async succeeded(account: string): Promise<void> {
    const { pk, sk } = keys.throttle(`account:${account}`);
    await this.deps.table.delete(pk, sk);
  }

  private counters(account: string | undefined, address: string | undefined): Counter[] {
    const out: Counter[] = [];
    if (account !== undefined) out.push({ who: `account:${account.slice(0, 128)}`, limit: this.deps.settings.perAccount });
    if (address !== undefined) out.push({ who: `address:${address.slice(0, 64)}`, limit: this.deps.settings.perAddress });
    return out;
  }

  private async wait({ who, limit }: Counter): Promise<number> {
    const { pk, sk } = keys.throttle(who);
    const item = await this.deps.table.get(pk, sk);
    if (!item) return 0;
    const ends = Number(item.attrs.windowStart) + limit.windowSeconds * 1000;
    const now = this.deps.now();
    if (ends <= now || Number(item.attrs.failures) < limit.maxFailures) return 0;
    return Math.ceil((ends - now) / 1000);
  }

  /** Read, then write under a version condition; a concurrent failure makes it read again. */
  private async increment({ who, limit }: Counter): Promise<void> {
    const { pk, sk } = keys.throttle(who);
    for (let attempt = 0; attempt < 10; attempt++) {
      const now = this.deps.now();
      const item = await this.deps.table.get(pk, sk);
      const version = item ? Number(item.attrs.version) : 0;
      const current = item && Number(item.attrs.windowStart) + limit.windowSeconds * 1000 > now;
      const attrs = current
        ? { failures: Number(item.attrs.failures) + 1, windowStart: Number(item.attrs.windowStart) }
        : { failures: 1, windowStart: now };
      // `ttl` (seconds) lets a store's TTL sweep ended windows; the code never relies on it.
      const next = { ...attrs, version: version + 1, ttl: Math.ceil((attrs.windowStart + limit.windowSeconds * 1000) / 1000) };
      try {
        await this.deps.table.put({ pk, sk, attrs: next }, item ? { kind: 'equals', attr: 'version', value: version } : { kind: 'absent' });
        return;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
  }
}
