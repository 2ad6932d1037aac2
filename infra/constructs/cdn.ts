/**
 * The CloudFront distribution in front of the registry's origins, with the viewer-request handler
 * on every behaviour and a cache policy per kind of answer:
 *
 * | path pattern                  | origin          | cached                                        |
 * |-------------------------------|-----------------|-----------------------------------------------|
 * | /v2/* /blobs/uploads[/*]      | upload service  | never                                         |
 * | /v2/* /manifests/sha256:*     | Lambda          | yes: content addressed (key: Accept, method)  |
 * | /v2/* /manifests/*            | Lambda          | tags: a short TTL at most                     |
 * | /v2/* /blobs/sha256:*         | Lambda          | the redirect, for less than its URL lives     |
 * | /token                        | Lambda          | never (Authorization forwarded)               |
 * | /v2/*, default                | Lambda          | never                                         |
 *
 * Every request reaching the cache was authorised by the edge for that repository and action, so
 * one cached answer may serve every client. Errors are never cached (a 404 before a push would
 * hide the push). Both origins get the secret header that locks them to CloudFront.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export const ORIGIN_SECRET_HEADER = 'x-cirrus-origin-secret';
/** Bumped to make CloudFront read the origin secret again after a rotation (README). */
export const ORIGIN_GENERATION_HEADER = 'x-cirrus-origin-generation';
/** Set by the edge on cached routes (core/http/edge-headers.ts). */
export const EDGE_METHOD_HEADER = 'x-cirrus-method';

export const PATHS = {
  uploads: ['/v2/*/blobs/uploads/*', '/v2/*/blobs/uploads'],
  manifestsByDigest: '/v2/*/manifests/sha256:*',
  manifests: '/v2/*/manifests/*',
  blobsByDigest: '/v2/*/blobs/sha256:*',
  token: '/token',
  api: '/v2/*',
} as const;

/** Error statuses CloudFront would otherwise cache for 10 s. */
const UNCACHED_ERRORS = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

export interface CacheSettings {
  /** How long a tag lookup may be served from the cache. */
  tagSeconds: number;
  /** How long a blob redirect may be served from the cache; must stay well below signedUrlSeconds. */
  blobRedirectSeconds: number;
  /** Lifetime of the signed URLs blob redirects carry. */
  signedUrlSeconds: number;
}

export interface RegistryCdnProps {
  functionUrl: lambda.IFunctionUrl;
  /** The upload service's internal load balancer; without it upload routes go to Lambda (chunked clients only). */
  uploadBalancer?: elbv2.IApplicationLoadBalancer;
  viewerRequest: lambda.IVersion;
  /** The secret value (a CloudFormation dynamic reference, resolved at deploy time). */
  originSecret: string;
  originGeneration: number;
  cache: CacheSettings;
  logsBucket: s3.IBucket;
  domain?: { name: string; certificateArn: string };
  webAclArn?: string;
  priceClass?: cloudfront.PriceClass;
}

export class RegistryCdn extends Construct {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: RegistryCdnProps) {
    super(scope, id);
    const { cache } = props;
    if (cache.blobRedirectSeconds * 2 > cache.signedUrlSeconds) {
      throw new Error(`a cached blob redirect (${cache.blobRedirectSeconds} s) must expire well before its signed URL (${cache.signedUrlSeconds} s): keep it under half`);
    }
    const customHeaders = { [ORIGIN_SECRET_HEADER]: props.originSecret, [ORIGIN_GENERATION_HEADER]: String(props.originGeneration) };
    const lambdaOrigin = new origins.FunctionUrlOrigin(props.functionUrl, { customHeaders, readTimeout: Duration.seconds(60) });
    const uploadOrigin = props.uploadBalancer
      ? origins.VpcOrigin.withApplicationLoadBalancer(props.uploadBalancer, {
          customHeaders,
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
          httpPort: 80,
          // The last PUT of an upload completes the multipart upload before answering.
          readTimeout: Duration.seconds(120),
        })
      : lambdaOrigin;

    const key = (name: string, ttl: { min: number; def: number; max: number }, headers: string[]) =>
      new cloudfront.CachePolicy(this, name, {
        comment: `Cirrus ${name}`,
        minTtl: Duration.seconds(ttl.min),
        defaultTtl: Duration.seconds(ttl.def),
        maxTtl: Duration.seconds(ttl.max),
        headerBehavior: cloudfront.CacheHeaderBehavior.allowList(...headers),
        queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
        cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      });
    const year = 365 * 86_400;
    const immutable = key('ManifestsByDigest', { min: 0, def: 86_400, max: year }, ['accept', EDGE_METHOD_HEADER]);
    const tags = key('Tags', { min: 0, def: cache.tagSeconds, max: cache.tagSeconds }, ['accept', EDGE_METHOD_HEADER]);
    // min = max: the origin marks redirects no-store (for clients); CloudFront keeps them this long, no longer.
    const blobs = key('BlobRedirects', { min: cache.blobRedirectSeconds, def: cache.blobRedirectSeconds, max: cache.blobRedirectSeconds }, [EDGE_METHOD_HEADER]);
    const token = new cloudfront.CachePolicy(this, 'Token', {
      comment: 'Cirrus token endpoint: never cached; Authorization in the key only so that CloudFront forwards it',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('authorization'),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });

    const edgeLambdas = [{ functionVersion: props.viewerRequest, eventType: cloudfront.LambdaEdgeEventType.VIEWER_REQUEST }];
    const behaviour = (origin: cloudfront.IOrigin, cachePolicy: cloudfront.ICachePolicy): cloudfront.BehaviorOptions => ({
      origin,
      cachePolicy,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      compress: false,
      edgeLambdas,
    });
    const uncached = cloudfront.CachePolicy.CACHING_DISABLED;

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Cirrus OCI registry',
      defaultBehavior: behaviour(lambdaOrigin, uncached),
      additionalBehaviors: {
        [PATHS.uploads[0]]: behaviour(uploadOrigin, uncached),
        [PATHS.uploads[1]]: behaviour(uploadOrigin, uncached),
        [PATHS.manifestsByDigest]: behaviour(lambdaOrigin, immutable),
        [PATHS.manifests]: behaviour(lambdaOrigin, tags),
        [PATHS.blobsByDigest]: behaviour(lambdaOrigin, blobs),
        [PATHS.token]: behaviour(lambdaOrigin, token),
        [PATHS.api]: behaviour(lambdaOrigin, uncached),
      },
      errorResponses: UNCACHED_ERRORS.map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.logsBucket,
      logFilePrefix: 'cloudfront/',
      domainNames: props.domain ? [props.domain.name] : undefined,
      certificate: props.domain ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn) : undefined,
      minimumProtocolVersion: props.domain ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      webAclId: props.webAclArn,
    });

    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'A registry serves clients wherever they are; access is decided per token at the edge, not per country.',
    });
    if (!props.webAclArn) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason: 'No WAF by default: a web ACL costs a monthly fee even at idle, and the edge already refuses unauthenticated requests before any origin call. Pass webAclArn to attach one.',
      });
    }
    if (!props.domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose security policy cannot be set; with domainName/certificateArn the policy is TLSv1.2_2021.',
      });
    }
  }
}
