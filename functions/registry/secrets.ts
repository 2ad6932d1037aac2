/**
 * Secrets read from Secrets Manager and cached for a while, so a rotation takes effect within the
 * cache's lifetime without a redeploy. Both the current and the previous version are kept: while
 * a rotation spreads (CloudFront's configuration, warm instances), either is accepted.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretStage = 'AWSCURRENT' | 'AWSPREVIOUS';

export interface SecretVersion {
  value: string;
  versionId: string;
}

export interface SecretSource {
  /** Undefined when the secret has no version in that stage. */
  read(stage: SecretStage): Promise<SecretVersion | undefined>;
}

/** A Secrets Manager client whose SDK module is imported on first use (see core/storage/lazy.ts). */
export function secretsManagerClient(): () => Promise<SecretsManagerClient> {
  let client: Promise<SecretsManagerClient> | undefined;
  return () => (client ??= import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient }) => new SecretsManagerClient({})));
}

export function secretsManagerSource(client: () => Promise<SecretsManagerClient>, secretId: string): SecretSource {
  return {
    async read(stage) {
      try {
        const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
        const out = await (await client()).send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
        if (out.SecretString === undefined || out.VersionId === undefined) return undefined;
        return { value: out.SecretString, versionId: out.VersionId };
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException' && stage === 'AWSPREVIOUS') return undefined;
        throw error;
      }
    },
  };
}

export class CachedSecret {
  private cached?: { at: number; current: SecretVersion | undefined; previous: SecretVersion | undefined };
  private loading?: Promise<void>;

  constructor(
    private readonly source: SecretSource,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly stages: readonly SecretStage[] = ['AWSCURRENT'],
  ) {}

  /** The current version (cached). */
  async current(): Promise<SecretVersion | undefined> {
    await this.fresh(this.ttlMs);
    return this.cached?.current;
  }

  /** Current and previous values (cached). */
  async values(): Promise<string[]> {
    await this.fresh(this.ttlMs);
    return [this.cached?.current?.value, this.cached?.previous?.value].filter((v): v is string => v !== undefined);
  }

  /** Reads again if the cache is older than `maxAgeMs`; concurrent callers share one read. */
  async fresh(maxAgeMs: number): Promise<void> {
    if (this.cached && this.now() - this.cached.at < maxAgeMs) return;
    this.loading ??= (async () => {
      try {
        const [current, previous] = await Promise.all([
          this.source.read('AWSCURRENT'),
          this.stages.includes('AWSPREVIOUS') ? this.source.read('AWSPREVIOUS') : Promise.resolve(undefined),
        ]);
        this.cached = { at: this.now(), current, previous };
      } finally {
        this.loading = undefined;
      }
    })();
    await this.loading;
  }

  /** When the cache was filled (ms), or undefined. */
  get readAt(): number | undefined {
    return this.cached?.at;
  }
}
