/**
 * The parts of CloudFront's Lambda@Edge event and result shapes the viewer-request handler uses.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html
 * Header names are lower-case keys; each holds a list of `{ key, value }` (a header may repeat).
 */
export type CloudFrontHeaders = Record<string, Array<{ key?: string; value: string }>>;

export interface CloudFrontRequest {
  clientIp: string;
  method: string;
  /** The path, as the viewer sent it (not percent-decoded). */
  uri: string;
  /** The query string without `?`, possibly empty. */
  querystring: string;
  headers: CloudFrontHeaders;
  body?: { inputTruncated: boolean; action: string; encoding: string; data: string };
}

export interface CloudFrontRequestEvent {
  Records: Array<{
    cf: {
      config: { distributionDomainName: string; distributionId: string; eventType: string; requestId: string };
      request: CloudFrontRequest;
    };
  }>;
}

/** A response generated at the edge: CloudFront answers with it and never calls the origin. */
export interface CloudFrontResultResponse {
  status: string;
  statusDescription?: string;
  headers?: CloudFrontHeaders;
  body?: string;
  bodyEncoding?: 'text' | 'base64';
}

export function headerValue(headers: CloudFrontHeaders, name: string): string | undefined {
  const values = headers[name];
  if (!values || values.length === 0) return undefined;
  return values.map((v) => v.value).join(', ');
}

export function setHeader(headers: CloudFrontHeaders, key: string, value: string): void {
  headers[key.toLowerCase()] = [{ key, value }];
}
