/**
 * The client's address, for the audit trail and the login throttle: the socket's peer on Node,
 * the event's source IP on Lambda. Forwarding headers are not trusted: any client can send them.
 */
import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';

export function sourceAddress(c: Context<AppEnv>): string | undefined {
  const env = c.env as
    | { incoming?: { socket?: { remoteAddress?: string } }; event?: { requestContext?: { http?: { sourceIp?: string } } } }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.event?.requestContext?.http?.sourceIp ?? undefined;
}
