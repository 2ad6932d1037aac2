/** Access control composed once per host over the table, a signing key and settings. */
import type { Table } from '../ports/table.ts';
import { Audit, type AuditEvent } from './audit.ts';
import { Authorisation } from './authorisation.ts';
import { Identities } from './identities.ts';
import { Projects } from './projects.ts';
import type { SigningKey } from './signing-keys.ts';
import { defaultThrottle, LoginThrottle, type ThrottleSettings } from './throttle.ts';
import { TokenIssuer, type TokenSettings } from './token-issuer.ts';
import { verifyAccessToken, type VerifiedAccess } from './tokens.ts';

export interface AuthSettings extends TokenSettings {
  throttle: ThrottleSettings;
}

export const defaultAuthSettings: AuthSettings = {
  issuer: 'cirrus',
  service: 'cirrus',
  accessTtlSeconds: 300,
  refreshTtlSeconds: 30 * 86_400,
  throttle: defaultThrottle,
};

export interface AuthDeps {
  table: Table;
  key: SigningKey;
  settings: AuthSettings;
  /** ms since the epoch; injectable so expiry can be tested. */
  now: () => number;
  /** Where each audit event is also written as a log line. */
  log?: (event: AuditEvent) => void;
}

export class Auth {
  readonly identities: Identities;
  readonly projects: Projects;
  readonly authorisation: Authorisation;
  readonly audit: Audit;
  readonly throttle: LoginThrottle;
  readonly issuer: TokenIssuer;

  constructor(readonly deps: AuthDeps) {
    const { table, now } = deps;
    this.identities = new Identities({ table, now });
    this.projects = new Projects({ table, now });
    this.authorisation = new Authorisation(this.projects);
    this.audit = new Audit({ table, now, log: deps.log });
    this.throttle = new LoginThrottle({ table, now, settings: deps.settings.throttle });
    this.issuer = new TokenIssuer({
      key: deps.key,
      settings: deps.settings,
      identities: this.identities,
      authorisation: this.authorisation,
      throttle: this.throttle,
      audit: this.audit,
      now,
    });
  }

  get settings(): AuthSettings {
    return this.deps.settings;
  }

  /** Verifies an access token presented to the registry. */
  verify(token: string): Promise<VerifiedAccess> {
    return verifyAccessToken(token, this.deps.key.publicKey, this.deps.settings, this.deps.now());
  }
}

/** What a host's configuration says of tokens (the local host's and the function's alike). */
export interface AuthHostOptions {
  service: string;
  issuer: string;
  tokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/** Access control as every host builds it: default throttling, the real clock, audit as log lines. */
export function createHostAuth(table: Table, key: SigningKey, options: AuthHostOptions, logAudit: (event: AuditEvent) => void): Auth {
  return new Auth({
    table,
    key,
    settings: {
      ...defaultAuthSettings,
      service: options.service,
      issuer: options.issuer,
      accessTtlSeconds: options.tokenTtlSeconds,
      refreshTtlSeconds: options.refreshTokenTtlSeconds,
    },
    now: Date.now,
    log: logAudit,
  });
}
