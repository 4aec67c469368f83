/**
 * Optional edge in front of the API (settings `edge`, `wafRateLimit`, `webAclArn`; docs/security.md).
 *
 * AWS WAF cannot be associated with an API Gateway HTTP API (it protects REST APIs, CloudFront,
 * ALB, AppSync, ...), so the way to screen collection traffic with WAF is a CloudFront distribution
 * in front of the HTTP API, with a WebACL of scope CLOUDFRONT. Such a WebACL must live in
 * us-east-1: this construct creates it (one rate-based rule per client IP) when the stack itself
 * deploys to us-east-1; in any other region, create it there once and pass its ARN (`webAclArn`).
 *
 * The distribution caches nothing, forwards every method, header (but Host), query string and
 * cookie, and only speaks HTTPS. SDKs then use `EdgeUrl`. Admin requests keep using the API URL:
 * a SigV4 signature covers the Host header, which CloudFront rewrites for the origin.
 */
import { Stack, Token } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { CairnSettings } from '../settings';
import { acknowledge } from './nag';

export const WAF_RATE_RULE = 'cairn-rate-per-ip';

export class Edge extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly webAcl?: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, api: apigwv2.HttpApi, s: CairnSettings) {
    super(scope, id);
    const region = Stack.of(this).region;
    let webAclId = s.webAclArn;
    if (s.wafRateLimit !== undefined) {
      if (Token.isUnresolved(region) || region !== 'us-east-1') {
        throw new Error(
          'cairn:wafRateLimit creates a CloudFront-scope WebACL, which AWS only accepts in us-east-1; this stack deploys to ' +
            `${Token.isUnresolved(region) ? 'an unspecified region' : region}. Create the WebACL in us-east-1 (docs/security.md) and pass its ARN as cairn:webAclArn instead.`,
        );
      }
      this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
        name: s.name('cairn-edge'),
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: s.name('cairn-edge'), sampledRequestsEnabled: true },
        rules: [
          {
            name: WAF_RATE_RULE,
            priority: 0,
            statement: { rateBasedStatement: { limit: s.wafRateLimit, aggregateKeyType: 'IP' } },
            action: { block: { customResponse: { responseCode: 429 } } },
            visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: WAF_RATE_RULE, sampledRequestsEnabled: true },
          },
        ],
      });
      webAclId = this.webAcl.attrArn;
    }

    // The settings document analytics.js fetches names the host pages post to (shared/collect/browser.ts);
    // CloudFront sends the API's own Host to the origin, so pass the viewer's host along to keep pages on the edge.
    const publicHost = new cloudfront.Function(this, 'PublicHost', {
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Passes the viewer Host to the collector as x-cairn-public-host',
      code: cloudfront.FunctionCode.fromInline(
        "function handler(event) { var r = event.request; if (r.headers.host) { r.headers['x-cairn-public-host'] = { value: r.headers.host.value }; } return r; }",
      ),
    });
    const originDomain = `${api.apiId}.execute-api.${region}.${Stack.of(this).urlSuffix}`;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Cairn ${s.name('cairn')} API edge`,
      defaultBehavior: {
        origin: new origins.HttpOrigin(originDomain, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: publicHost, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(webAclId ? { webAclId } : {}),
    });
    const d = this.distribution;
    acknowledge(d, 'AwsSolutions-CFR1', 'A collection API serves SDKs worldwide; geo restrictions are a per-deployment choice (add them to the WebACL).');
    acknowledge(d, 'AwsSolutions-CFR3', 'The API stage already writes JSON access logs (without personal data) for every request the edge forwards.');
    acknowledge(
      d,
      'AwsSolutions-CFR4',
      'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the viewer TLS policy; use a custom domain to raise it.',
    );
    if (!webAclId) acknowledge(d, 'AwsSolutions-CFR2', 'WAF is optional: set cairn:wafRateLimit (us-east-1) or cairn:webAclArn to attach a WebACL.');
  }

  /** `https://dxxxx.cloudfront.net/` */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}/`;
  }
}
