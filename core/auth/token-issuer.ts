/**
 * The token endpoint's logic, without HTTP: authenticate (password, refresh token, or nobody),
 * brake password guessing, grant the allowed subset of the requested scopes, sign. Failures are
 * audited; successes are not (every pull starts with one).
 */
import type { AuditSink } from './audit.ts';
import type { Authorisation } from './authorisation.ts';
import type { Identities } from './identities.ts';
import type { Scope } from './scopes.ts';
import type { SigningKey } from './signing-keys.ts';
import type { LoginThrottle } from './throttle.ts';
import { signAccessToken, signRefreshToken, verifyRefreshToken, type TokenParties } from './tokens.ts';

export interface TokenSettings extends TokenParties {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export type Credentials =
  | { kind: 'anonymous' }
  | { kind: 'password'; username: string; password: string }
  | { kind: 'refresh'; refreshToken: string };

export interface TokenRequest {
  credentials: Credentials;
  scopes: Scope[];
  /** Also issue a refresh token (OAuth2 `access_type=offline`, or `offline_token=true`). */
  offline: boolean;
  source?: string;
}

export type TokenResult =
  | { ok: true; subject: string; access: Scope[]; token: string; issuedAt: number; expiresIn: number; refreshToken?: string }
  | { ok: false; failure: 'unauthorized' | 'throttled'; reason: string; retryAfter?: number };

/** For the audit trail only: a client is told no more than that its credentials were refused. */
const REASONS = { unknown: 'unknown account', secret: 'wrong secret', disabled: 'account disabled', expired: 'account expired' } as const;

export class TokenIssuer {
  constructor(
    private readonly deps: {
      key: SigningKey;
      settings: TokenSettings;
      identities: Identities;
      authorisation: Authorisation;
      throttle: LoginThrottle;
      audit: AuditSink;
      now: () => number;
    },
  ) {}

  async issue(request: TokenRequest): Promise<TokenResult> {
    const who = await this.authenticate(request);
    if (!who.ok) {
      await this.deps.audit.record({
        who: who.attempted || 'anonymous',
        action: 'token.issue',
        result: 'denied',
        reason: who.reason,
        source: request.source,
      });
      return who;
    }
    const { key, settings, now } = this.deps;
    const access = await this.deps.authorisation.grant(who.subject, request.scopes);
    const issued = await signAccessToken(key, { ...settings, subject: who.subject, access, ttlSeconds: settings.accessTtlSeconds, now: now() });
    const refreshToken =
      who.refreshToken ??
      (request.offline && who.subject !== '' && who.epoch !== undefined
        ? await signRefreshToken(key, { ...settings, subject: who.subject, epoch: who.epoch, ttlSeconds: settings.refreshTtlSeconds, now: now() })
        : undefined);
    return { ok: true, subject: who.subject, access, ...issued, ...(refreshToken ? { refreshToken } : {}) };
  }

  private async authenticate(
    request: TokenRequest,
  ): Promise<
    | { ok: true; subject: string; epoch?: number; refreshToken?: string }
    | { ok: false; failure: 'unauthorized' | 'throttled'; reason: string; retryAfter?: number; attempted: string }
  > {
    const { credentials, source } = request;
    const { identities, throttle } = this.deps;
    if (credentials.kind === 'anonymous') return { ok: true, subject: '' };
    if (credentials.kind === 'refresh') {
      const verified = await verifyRefreshToken(credentials.refreshToken, this.deps.key.publicKey, this.deps.settings, this.deps.now());
      if (!verified.ok) return { ok: false, failure: 'unauthorized', reason: `refresh token ${verified.reason}`, attempted: '' };
      const identity = await identities.get(verified.subject);
      if (!identity) return { ok: false, failure: 'unauthorized', reason: 'refresh token of an unknown account', attempted: verified.subject };
      if (identity.epoch !== verified.epoch) {
        return { ok: false, failure: 'unauthorized', reason: 'refresh token older than the secret', attempted: verified.subject };
      }
      const usable = identities.usable(identity);
      if (!usable.ok) return { ok: false, failure: 'unauthorized', reason: `account ${usable.reason}`, attempted: verified.subject };
      return { ok: true, subject: identity.name, refreshToken: credentials.refreshToken };
    }
    const { username, password } = credentials;
    const retryAfter = await throttle.retryAfter(username, source);
    if (retryAfter !== undefined) return { ok: false, failure: 'throttled', reason: 'too many failed logins', retryAfter, attempted: username };
    const result = await identities.authenticate(username, password);
    if (!result.ok) {
      // Disabled and expired accounts count as failures too: the secret may still be guessed at.
      await throttle.failed(username, source);
      return { ok: false, failure: 'unauthorized', reason: REASONS[result.reason], attempted: username };
    }
    await throttle.succeeded(username);
    return { ok: true, subject: result.identity.name, epoch: result.identity.epoch };
  }
}
