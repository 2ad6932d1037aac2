/**
 * The registry app behind a Lambda Function URL. `hono/aws-lambda` maps Function URL events
 * (payload v2: rawPath, rawQueryString, base64 bodies) to Requests and Responses back; the
 * adapter is deprecated in favour of @hono/aws-lambda, which is not published yet.
 */
import { handle } from 'hono/aws-lambda';
import { createRegistryApp, type AppDeps } from '../../core/http/index.ts';

export function createHandler(deps: AppDeps) {
  // Lambda cannot take bodies over ~4.4 MiB raw: refuse them with the chunking hint, always.
  const app = createRegistryApp({ ...deps, http: { ...deps.http, lambdaLimits: true } });
  return handle(app);
}
