// Full CloudFront viewer-request events, as Lambda@Edge receives them, and tokens to put in them.
import { generateSigningKey, type SigningKey } from '../../core/auth/signing-keys.ts';
import type { Scope } from '../../core/auth/scopes.ts';
import { signAccessToken } from '../../core/auth/tokens.ts';
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent } from '../../edge/viewer-request/cloudfront.ts';

export const DISTRIBUTION = 'd111111abcdef8.cloudfront.net';
export const PARTIES = { service: 'cirrus', issuer: 'cirrus' };

/** A viewer-request event with a request like those CloudFront captures (headers as it lists them). */
export function viewerEvent(
  method: string,
  uri: string,
  options: { querystring?: string; headers?: Record<string, string | string[]>; clientIp?: string } = {},
): CloudFrontRequestEvent {
  const headers: CloudFrontHeaders = {
    host: [{ key: 'Host', value: DISTRIBUTION }],
    'user-agent': [{ key: 'User-Agent', value: 'docker/27.5.1 go/go1.22.12 git-commit/4c9b3b0 kernel/6.8.0 os/linux arch/amd64' }],
    'accept-encoding': [{ key: 'Accept-Encoding', value: 'gzip' }],
    via: [{ key: 'Via', value: '2.0 0123456789abcdef.cloudfront.net (CloudFront)' }],
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    headers[name.toLowerCase()] = (Array.isArray(value) ? value : [value]).map((v) => ({ key: name, value: v }));
  }
  const request: CloudFrontRequest = { clientIp: options.clientIp ?? '203.0.113.178', method, uri, querystring: options.querystring ?? '', headers };
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: DISTRIBUTION, distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==' },
          request,
        },
      },
    ],
  };
}

export async function newKey(): Promise<{ key: SigningKey; publicJwk: string }> {
  const { key } = await generateSigningKey();
  return { key, publicJwk: JSON.stringify(key.publicJwk) };
}

export async function token(key: SigningKey, access: Scope[], options: { subject?: string; ttlSeconds?: number; now?: number; service?: string } = {}): Promise<string> {
  const issued = await signAccessToken(key, {
    ...PARTIES,
    service: options.service ?? PARTIES.service,
    subject: options.subject ?? 'alice',
    access,
    ttlSeconds: options.ttlSeconds ?? 300,
    now: options.now ?? Date.now(),
  });
  return issued.token;
}

export const pull = (name: string): Scope => ({ type: 'repository', name, actions: ['pull'] });
export const push = (name: string): Scope => ({ type: 'repository', name, actions: ['pull', 'push'] });
