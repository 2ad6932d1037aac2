/**
 * The deployment's settings, from CDK context (cdk.json, or `-c key=value` on the command line):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | regions | eu-west-1 | comma-separated: one registry stack per region |
 * | replicateTo | — | comma-separated regions of other Cirrus stacks (`Cirrus-<region>`, same account) that replication rules `cirrus-region://<table>/<bucket>?region=<region>` copy to: the replication tasks may write their table and blob bucket |
 * | account | CDK_DEFAULT_ACCOUNT | the AWS account (unset: environment-agnostic templates) |
 * | signingPublicKeyFile / signingPublicKey | — | the token signing public key(s): a JWK, a JWK set `{"keys":[…]}` or PEM; more than one during a rotation. Without one a throwaway key is bundled (and synth says so) |
 * | auth | on | `off` deploys an open registry (no tokens): never on the internet |
 * | domainName | — | custom domain, `{region}` replaced by the region (e.g. `{region}.registry.example.com`) |
 * | certificateArn | — | ACM certificate in us-east-1 covering domainName |
 * | uploadService | on | `off`: no ECS upload service; clients must push in chunks (the edge says so with a 413) |
 * | uploadMinTasks / uploadMaxTasks | 1 / 4 | size of the upload service |
 * | storageQuotaGiB | 1024 | the storage alarm fires at 85 % of it |
 * | alarmTopicArn | — | SNS topic the alarms notify |
 * | webAclArn | — | WAF web ACL (us-east-1, CLOUDFRONT scope) for the distribution |
 * | originSecretGeneration | 1 | bump after rotating the origin secret, so CloudFront reads it again |
 * | tagCacheSeconds / blobRedirectCacheSeconds / signedUrlSeconds | 5 / 60 / 300 | cache lifetimes |
 * | priceClass | 100 | CloudFront price class: 100, 200 or All |
 * | service / issuer | cirrus | the token service (audience) and issuer |
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Node } from 'constructs';

export interface DeployConfig {
  regions: string[];
  replicateTo: string[];
  account?: string;
  auth: { service: string; issuer: string; publicKeys: string[]; throwaway: boolean } | false;
  domain?: (region: string) => { name: string; certificateArn: string };
  uploadService: { minTasks: number; maxTasks: number } | false;
  storageQuotaBytes: number;
  alarmTopicArn?: string;
  webAclArn?: string;
  originSecretGeneration: number;
  cache: { tagSeconds: number; blobRedirectSeconds: number; signedUrlSeconds: number };
  priceClass: '100' | '200' | 'All';
}

const GiB = 1024 ** 3;

export function readDeployConfig(node: Node, env: NodeJS.ProcessEnv = process.env): DeployConfig {
  const get = (key: string): string | undefined => {
    const value = node.tryGetContext(key) as unknown;
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const int = (key: string, fallback: number, min = 0) => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`context ${key}: expected an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const onOff = (key: string, fallback: boolean) => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    if (!['on', 'off', 'true', 'false'].includes(raw)) throw new Error(`context ${key}: expected on or off, got ${JSON.stringify(raw)}`);
    return raw === 'on' || raw === 'true';
  };

  const regions = (get('regions') ?? 'eu-west-1').split(',').map((r) => r.trim()).filter(Boolean);
  for (const region of regions) if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`context regions: ${JSON.stringify(region)} is not a region name`);
  if (new Set(regions).size !== regions.length) throw new Error('context regions: a region is named twice');

  const replicateTo = (get('replicateTo') ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  for (const region of replicateTo) if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`context replicateTo: ${JSON.stringify(region)} is not a region name`);

  const domainName = get('domainName');
  const certificateArn = get('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) throw new Error('context domainName and certificateArn go together');
  if (certificateArn !== undefined && !certificateArn.startsWith('arn:aws:acm:us-east-1:')) {
    throw new Error('context certificateArn: CloudFront takes certificates from ACM in us-east-1 only');
  }

  const priceClass = get('priceClass') ?? '100';
  if (priceClass !== '100' && priceClass !== '200' && priceClass !== 'All') throw new Error('context priceClass: 100, 200 or All');

  return {
    regions,
    replicateTo,
    account: get('account') ?? env.CDK_DEFAULT_ACCOUNT,
    auth: onOff('auth', true)
      ? { service: get('service') ?? 'cirrus', issuer: get('issuer') ?? 'cirrus', ...signingKeys(get('signingPublicKeyFile'), get('signingPublicKey')) }
      : false,
    domain: domainName && certificateArn ? (region) => ({ name: domainName.replaceAll('{region}', region), certificateArn }) : undefined,
    uploadService: onOff('uploadService', true) ? { minTasks: int('uploadMinTasks', 1, 1), maxTasks: int('uploadMaxTasks', 4, 1) } : false,
    storageQuotaBytes: int('storageQuotaGiB', 1024, 1) * GiB,
    alarmTopicArn: get('alarmTopicArn'),
    webAclArn: get('webAclArn'),
    originSecretGeneration: int('originSecretGeneration', 1, 1),
    cache: {
      tagSeconds: int('tagCacheSeconds', 5),
      blobRedirectSeconds: int('blobRedirectCacheSeconds', 60),
      signedUrlSeconds: int('signedUrlSeconds', 300, 30),
    },
    priceClass,
  };
}

/** Public keys from a file or a value: a JWK, a JWK set, or PEM blocks. None: a throwaway key. */
export function signingKeys(file: string | undefined, value: string | undefined): { publicKeys: string[]; throwaway: boolean } {
  const text = file !== undefined ? readFileSync(file, 'utf8') : value;
  if (text === undefined) {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    return { publicKeys: [JSON.stringify(jwk)], throwaway: true };
  }
  return { publicKeys: parsePublicKeys(text), throwaway: false };
}

export function parsePublicKeys(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as { keys?: unknown[]; d?: unknown; kty?: unknown };
    const keys = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
    return keys.map((k) => {
      const jwk = k as { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown; d?: unknown };
      if (jwk.d !== undefined) throw new Error('signing public key: this JWK holds a PRIVATE key; give the public half only (it is bundled into the edge)');
      if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('signing public key: expected EC P-256 (ES256) keys');
      return JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
    });
  }
  const pems = trimmed.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g);
  if (!pems) throw new Error('signing public key: expected a JWK, a JWK set or PEM public keys (-----BEGIN PUBLIC KEY-----)');
  return pems;
}
