/**
 * The console on AWS (docs/deploy.md#console-on-aws, docs/security.md#console-roles): the built app in
 * a private bucket that only the console's CloudFront distribution may read (origin access control),
 * served over HTTPS with security headers (CSP, HSTS, nosniff, no framing); sign-in through the
 * stack's Cognito user pool (infra/constructs/console-users.ts); and the admin routes behind a JWT
 * authorizer (infra/constructs/console-api.ts), which the same distribution serves under `/v1/*`, so
 * the app calls the admin API on its own origin exactly as it does locally.
 *
 * The app's files are copied in by a BucketDeployment: the hashed `assets/` first (cached a year),
 * then everything else with `config.json` (the sign-in settings, ConsoleRuntimeConfig), revalidated
 * on every load; CloudFront's cache is then invalidated. Without a build (`console/dist/index.html`)
 * a placeholder page saying so is deployed instead, so the stack always synthesises.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE, consoleCsp, ROUTES, type ConsoleRuntimeConfig } from '#shared/config';
import type { Catalog } from './catalog';
import { PROJECT_ROOT } from './cairn-function';
import { ConsoleApi } from './console-api';
import { authOriginOf, ConsoleUsers, domainPrefixOf } from './console-users';
import { acknowledge } from './nag';

/** The page deployed when the stack is synthesised without a console build. */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cairn console</title></head>
<body><h1>The Cairn console was not built</h1>
<p>This stack was deployed without the console's build (${CONSOLE.distDir}). Build the console, then deploy the stack again (docs/deploy.md, "Console on AWS").</p>
</body></html>
`;

/**
 * A CloudFront Function: a path ending in a static file's extension is a file of the build; any other
 * path is one of the app's pages, answered by index.html. By extension, not "has a dot": a page can be
 * addressed by an email (`/profiles/email:ann@example.com`).
 */
export const STATIC_FILE = /\.(?:js|mjs|css|map|json|html|ico|png|svg|jpe?g|gif|webp|avif|woff2?|ttf|otf|txt|xml|webmanifest|wasm)$/i;
export const SPA_FALLBACK_CODE = `function handler(event) { var r = event.request; if (!${STATIC_FILE}.test(r.uri)) { r.uri = '/index.html'; } return r; }`;

export interface ConsoleSiteProps {
  catalog: Catalog;
  /** Where the bucket's server access logs go (the lake's access-log bucket, as for the lake). */
  accessLogsBucket: s3.IBucket;
  /** A CloudFront-scope WebACL to attach (the one the API edge uses), if any. */
  webAclArn?: string;
}

export class ConsoleSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  readonly users: ConsoleUsers;
  readonly client: cognito.UserPoolClient;
  readonly api: ConsoleApi;
  /** The role that copies the app into the bucket (BucketDeployment's handler). */
  readonly deployRole: iam.Role;
  /** Whether a build was found (else the placeholder page is deployed). */
  readonly built: boolean;
  readonly deployments: s3deploy.BucketDeployment[] = [];

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    const { catalog } = props;
    const s = catalog.settings;

    this.api = new ConsoleApi(this, 'Api', catalog);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      // The app's files are served to anyone who opens the console (sign-in happens in the app), so
      // SSE-S3 is enough: SSE-KMS would only add a CloudFront grant on the Cairn key and a KMS call per miss.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console/',
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      // Nothing here but the build: a redeploy puts it back.
      removalPolicy: s.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const domainPrefix = domainPrefixOf(this, s);
    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Cairn console: CSP, HSTS, nosniff, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: consoleCsp(authOriginOf(this, domainPrefix)), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        // The sign-in redirect carries the authorization code in the URL: never pass it on.
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()', override: true },
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
        ],
      },
    });
    // SPA fallback as a viewer-request function on the bucket's behaviour only: distribution-wide error
    // responses (403/404 → /index.html) would also turn the admin API's own 403s and 404s into the app's page with a 200.
    const spaFallback = new cloudfront.Function(this, 'SpaFallback', {
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Cairn console: paths without a file extension are the app pages (index.html)',
      code: cloudfront.FunctionCode.fromInline(SPA_FALLBACK_CODE),
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Cairn ${s.name('cairn')} console`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        functionAssociations: [{ function: spaFallback, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        [CONSOLE.apiPathPattern]: {
          origin: new origins.HttpOrigin(this.api.domainName, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          // Nothing cached; every viewer header but Host (the Authorization header included) reaches the API.
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.headers,
        },
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
    });
    const d = this.distribution;
    acknowledge(d, 'AwsSolutions-CFR1', 'Console users (staff) work from anywhere; geo restrictions are a per-deployment choice (add them to a WebACL).');
    acknowledge(
      d,
      'AwsSolutions-CFR3',
      'Every console API call is logged by the console API stage (JSON access logs with the caller); the rest are the static files of the app, also logged by the bucket (server access logs).',
    );
    acknowledge(
      d,
      'AwsSolutions-CFR4',
      'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the viewer TLS policy; use a custom domain to raise it.',
    );
    if (!props.webAclArn)
      acknowledge(
        d,
        'AwsSolutions-CFR2',
        'Sign-in is Cognito with threat protection and required MFA, and every API call needs a valid token; a WebACL is optional (cairn:webAclArn).',
      );

    const url = this.url;
    this.users = new ConsoleUsers(this, 'Users', s, { consoleUrl: url, domainPrefix });
    this.client = this.users.addClient(url);
    const authorizer = new HttpUserPoolAuthorizer('ConsoleUsers', this.users.userPool, {
      userPoolClients: [this.client],
      authorizerName: 'console-users',
    });
    this.api.addRoutes(
      ROUTES.filter((r) => r.auth === 'admin'),
      authorizer,
      [`${CONSOLE.resourceServer}/${CONSOLE.scope}`],
    );

    const dist = path.resolve(PROJECT_ROOT, s.consoleDist);
    this.built = existsSync(path.join(dist, 'index.html'));
    this.deployRole = this.deploy(catalog, dist);
  }

  /** `https://dxxxx.cloudfront.net/` */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}/`;
  }

  /** What the app reads from /config.json. */
  runtimeConfig(): ConsoleRuntimeConfig {
    return {
      auth: 'cognito',
      region: Stack.of(this).region,
      userPoolId: this.users.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      authDomain: this.users.authOrigin,
      redirectUri: this.url,
      scopes: ['openid', 'email', `${CONSOLE.resourceServer}/${CONSOLE.scope}`],
    };
  }

  /**
   * Copies the app into the bucket with a role of its own: exactly the source objects it reads, the
   * bucket it lists and writes, the invalidation of this distribution and its own log group. The CDK's
   * grants (reads of the whole asset bucket, deletes, `s3:*Object*` wildcards, the managed logging
   * policy) are dropped: the handler gets an immutable view of the role.
   */
  private deploy(catalog: Catalog, dist: string): iam.Role {
    const s = catalog.settings;
    const logGroup = new logs.LogGroup(this, 'DeployLogs', { retention: s.logRetention, encryptionKey: catalog.key, removalPolicy: s.dataRemovalPolicy });
    const role = new iam.Role(this, 'DeployRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Cairn console deployment: copies the built console into its bucket',
    });
    const handlerRole = role.withoutPolicyUpdates();
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    // `aws s3 sync` lists the bucket and puts files; never deletes (prune off: an open page may still load last build's chunks).
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('*')] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'], resources: [this.distribution.distributionArn] }),
    );
    /** Binds a source once, granting GetObject on exactly its zip. */
    const bound = (source: s3deploy.ISource): s3deploy.ISource => {
      const config = source.bind(this, { handlerRole });
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [config.bucket.arnForObjects(config.zipObjectKey)] }));
      return { bind: () => config };
    };
    const app = bound(this.built ? s3deploy.Source.asset(dist) : s3deploy.Source.data('index.html', PLACEHOLDER_PAGE));
    const config = bound(s3deploy.Source.jsonData(CONSOLE.configFile, this.runtimeConfig()));
    const common = {
      destinationBucket: this.bucket,
      role: handlerRole,
      logGroup,
      prune: false,
    } satisfies Partial<s3deploy.BucketDeploymentProps>;

    let assets: s3deploy.BucketDeployment | undefined;
    if (this.built) {
      assets = new s3deploy.BucketDeployment(this, 'DeployAssets', {
        ...common,
        sources: [app],
        exclude: ['*'],
        include: [`${CONSOLE.assetsPrefix}*`],
        cacheControl: [s3deploy.CacheControl.fromString('public, max-age=31536000, immutable')],
      });
      this.deployments.push(assets);
    }
    const entry = new s3deploy.BucketDeployment(this, 'DeployEntry', {
      ...common,
      sources: [app, config],
      exclude: [`${CONSOLE.assetsPrefix}*`],
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/*'],
    });
    // index.html never names chunks that are not uploaded yet.
    if (assets) entry.node.addDependency(assets);
    this.deployments.push(entry);
    for (const dep of this.deployments) dep.node.addDependency(role);

    // The handler (a singleton Lambda the CDK owns) lives at the stack's root.
    const handler = Stack.of(this)
      .node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))
      .map((c) => c.node.defaultChild ?? c);
    for (const h of handler)
      acknowledge(
        h,
        'AwsSolutions-L1',
        "The runtime of aws-cdk-lib's BucketDeployment handler is chosen by the CDK and moves with CDK upgrades; it only copies the console's files at deploy time.",
      );
    const policy = role.node.findChild('DefaultPolicy');
    acknowledge(
      policy,
      'AwsSolutions-IAM5',
      "The app's file names come from its build (hashed chunk names); PutObject is limited to the console's own bucket.",
      [`Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`],
    );
    return role;
  }
}
