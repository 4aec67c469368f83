/**
 * The console on AWS (infra/constructs/console-site.ts, docs/deploy.md#console-on-aws): a private
 * bucket only the console's distribution reads (origin access control), HTTPS with security headers,
 * the SPA fallback on the bucket's paths only, `/v1/*` to the console API, the Cognito user pool
 * (invited users only, MFA required, strong passwords, threat protection), its groups and app client,
 * the first admin's invitation, and the deployment of the built files with a least-privilege role.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE, CONSOLE_ROLES, ROUTES } from '#shared/config/resources';
import { CONTEXT } from '#infra/settings';
import { PLACEHOLDER_PAGE, SPA_FALLBACK_CODE } from '#infra/constructs/console-site';
import { cognitoConfigOf } from '#console/src/auth/config';
import { nagFindings, synthCairn, type Synthesised } from './synth';

type Json = Record<string, any>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function view(s: Synthesised) {
  const resources = s.template.toJSON().Resources as Record<string, Json>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
  return { resources, ofType, id, site: s.stack.console! };
}

const BUILT = 'tests/fixtures/console-dist';

describe('console site (default: no console build)', () => {
  let s: Synthesised;
  let t: ReturnType<typeof view>;
  beforeAll(() => {
    s = synthCairn({}, { [CONTEXT.consoleDist]: 'tests/fixtures/no-such-console-build' });
    t = view(s);
  });

  it('the bucket is private, SSE-S3, TLS-only, logs access beside the lake; only the console distribution may read it, through OAC', () => {
    const bucketId = t.id(t.site.bucket);
    const b = t.resources[bucketId]!.Properties;
    expect(b.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
    expect(b.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(b.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: t.id(s.stack.lake.accessLogsBucket) }, LogFilePrefix: 'console/' });
    expect(b.WebsiteConfiguration).toBeUndefined();

    const [[, policy]] = t.ofType('AWS::S3::BucketPolicy').filter(([, p]) => p.Properties.Bucket.Ref === bucketId) as [[string, Json]];
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    expect(statements.filter((x) => x.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
    ]);
    const distributionId = t.id(t.site.distribution);
    // The one Allow: CloudFront, for this distribution only (OAC's SourceArn condition), reading objects.
    expect(statements.filter((x) => x.Effect === 'Allow')).toEqual([
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]],
            },
          },
        },
      },
    ]);
    // Origin access control, not the legacy origin access identity.
    expect(t.ofType('AWS::CloudFront::CloudFrontOriginAccessIdentity')).toHaveLength(0);
    const [[oacId, oac]] = t.ofType('AWS::CloudFront::OriginAccessControl') as [[string, Json]];
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    const d = t.resources[distributionId]!.Properties.DistributionConfig;
    const s3Origin = (d.Origins as Json[]).find((o) => o.S3OriginConfig)!;
    expect(s3Origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(s3Origin.S3OriginConfig.OriginAccessIdentity).toBe('');
  });

  it('HTTPS only; the bucket behaviour caches, answers app pages with index.html (a viewer-request function), and /v1/* reaches the console API uncached with the Authorization header', () => {
    const d = t.resources[t.id(t.site.distribution)]!.Properties.DistributionConfig;
    expect(d.DefaultRootObject).toBe('index.html');
    // No distribution-wide error pages: they would turn the API's own 403/404 answers into the app's page.
    expect(d.CustomErrorResponses).toBeUndefined();
    const [[fnId, fn]] = t.ofType('AWS::CloudFront::Function') as [[string, Json]];
    expect(fn.Properties.FunctionCode).toBe(SPA_FALLBACK_CODE);
    expect(d.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD'],
      FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }],
      ResponseHeadersPolicyId: { Ref: t.id(t.site.headers) },
    });
    const [api] = d.CacheBehaviors as Json[];
    expect(d.CacheBehaviors).toHaveLength(1);
    expect(api).toMatchObject({
      PathPattern: CONSOLE.apiPathPattern,
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: expect.arrayContaining(['GET', 'PUT', 'POST', 'DELETE']),
      // Managed policies: CachingDisabled, AllViewerExceptHostHeader (forwards Authorization when nothing is cached).
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
      ResponseHeadersPolicyId: { Ref: t.id(t.site.headers) },
    });
    const apiOrigin = (d.Origins as Json[]).find((o) => o.Id === api!.TargetOriginId)!;
    expect(apiOrigin.CustomOriginConfig).toEqual({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    expect(apiOrigin.DomainName).toEqual({ 'Fn::Join': ['', [{ Ref: t.id(t.site.api.api) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] });
    // Every admin route is under the pattern the distribution sends to the API; no app page is.
    for (const r of ROUTES.filter((x) => x.auth === 'admin')) expect(r.path).toMatch(/^\/v1\//);
  });

  it('the SPA fallback rewrites app paths to /index.html and leaves files alone', () => {
    const handler = new Function(`${SPA_FALLBACK_CODE}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
    const at = (uri: string) => handler({ request: { uri } }).uri;
    expect(at('/')).toBe('/index.html');
    expect(at('/segments/vip')).toBe('/index.html');
    expect(at('/journeys')).toBe('/index.html');
    // A page addressed by an email or a phone number has a dot, not a file's extension.
    expect(at('/profiles/email:ann.lee@example.com')).toBe('/index.html');
    expect(at('/profiles/email%3Aann%40example.co.uk')).toBe('/index.html');
    expect(at('/assets/index-abc123.js')).toBe('/assets/index-abc123.js');
    expect(at('/assets/index-abc123.CSS')).toBe('/assets/index-abc123.CSS');
    expect(at('/config.json')).toBe('/config.json');
    expect(at('/favicon.ico')).toBe('/favicon.ico');
  });

  it('security headers: a CSP for a React app on its own origin (self + the sign-in domain; no inline script, no eval; never framed), HSTS, nosniff, DENY, no referrer', () => {
    const cfg = t.resources[t.id(t.site.headers)]!.Properties.ResponseHeadersPolicyConfig;
    const sec = cfg.SecurityHeadersConfig;
    const csp = sec.ContentSecurityPolicy.ContentSecurityPolicy as string;
    expect(sec.ContentSecurityPolicy.Override).toBe(true);
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", 'https://cairn-123456789012.auth.eu-west-1.amazoncognito.com']);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-eval|\*/);
    expect(sec.StrictTransportSecurity).toEqual({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true });
    expect(sec.ContentTypeOptions).toEqual({ Override: true });
    expect(sec.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(sec.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
  });

  it('the user pool: invited users only, email sign-in, MFA required by authenticator app, a strong password policy, Plus with threat protection enforced, deletion-protected', () => {
    const [[, pool]] = t.ofType('AWS::Cognito::UserPool') as [[string, Json]];
    const p = pool.Properties;
    expect(p.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(p.UsernameAttributes).toEqual(['email']);
    expect(p.MfaConfiguration).toBe('ON');
    expect(p.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(p.Policies.PasswordPolicy).toEqual({
      MinimumLength: CONSOLE.passwordMinLength,
      RequireLowercase: true,
      RequireUppercase: true,
      RequireNumbers: true,
      RequireSymbols: true,
      TemporaryPasswordValidityDays: CONSOLE.temporaryPasswordDays,
      PasswordHistorySize: 5,
    });
    expect(CONSOLE.passwordMinLength).toBeGreaterThanOrEqual(14);
    expect(p.UserPoolTier).toBe('PLUS');
    expect(p.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
    expect(p.AccountRecoverySetting).toEqual({ RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] });
    expect(p.DeletionProtection).toBe('ACTIVE');
    expect(pool.DeletionPolicy).toBe('Retain');
    // The invitation names the console's URL and carries the user name and temporary password.
    const body = JSON.stringify(p.AdminCreateUserConfig.InviteMessageTemplate.EmailMessage);
    expect(body).toContain('{username}');
    expect(body).toContain('{####}');
    expect(body).toContain(t.id(t.site.distribution));
  });

  it('one group per console role; a resource server with the console scope; the hosted sign-in domain', () => {
    const groups = t.ofType('AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties);
    expect(groups.map((g) => g.GroupName).sort()).toEqual([...CONSOLE_ROLES].sort());
    expect(groups.find((g) => g.GroupName === 'admin')!.Precedence).toBe(0);
    const [[, rs]] = t.ofType('AWS::Cognito::UserPoolResourceServer') as [[string, Json]];
    expect(rs.Properties).toMatchObject({ Identifier: CONSOLE.resourceServer, Scopes: [expect.objectContaining({ ScopeName: CONSOLE.scope })] });
    const [[, domain]] = t.ofType('AWS::Cognito::UserPoolDomain') as [[string, Json]];
    expect(domain.Properties.Domain).toBe('cairn-123456789012');
  });

  it('the app client: public (no secret), authorization code only, back to the console URL only, the console scope, short tokens, revocable', () => {
    const [[, client]] = t.ofType('AWS::Cognito::UserPoolClient') as [[string, Json]];
    const c = client.Properties;
    const url = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [t.id(t.site.distribution), 'DomainName'] }, '/']] };
    expect(c.GenerateSecret).toBe(false);
    expect(c.AllowedOAuthFlows).toEqual(['code']);
    expect(c.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(c.CallbackURLs).toEqual([url]);
    expect(c.LogoutURLs).toEqual([url]);
    expect(c.SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(c.AllowedOAuthScopes).toEqual(['openid', 'email', { 'Fn::Join': ['', [{ Ref: t.id(t.site.users.resourceServer) }, `/${CONSOLE.scope}`]] }]);
    expect(c.ExplicitAuthFlows).toEqual(['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
    expect(c.PreventUserExistenceErrors).toBe('ENABLED');
    expect(c.EnableTokenRevocation).toBe(true);
    expect(c.AccessTokenValidity).toBe(CONSOLE.accessTokenMinutes);
    expect(c.RefreshTokenValidity).toBe(CONSOLE.refreshTokenHours * 60);
    expect(c.TokenValidityUnits).toEqual({ AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' });
  });

  it("config.json is what the console's sign-in reads: this pool's hosted pages and client, back to the client's callback URL, the scope the console routes require", () => {
    const cfg = s.stack.resolve(t.site.runtimeConfig()) as Json;
    const [[, client]] = t.ofType('AWS::Cognito::UserPoolClient') as [[string, Json]];
    const scope = `${CONSOLE.resourceServer}/${CONSOLE.scope}`;
    expect(cfg).toEqual({
      auth: 'cognito',
      region: 'eu-west-1',
      userPoolId: { Ref: t.id(t.site.users.userPool) },
      clientId: { Ref: t.id(t.site.client) },
      authDomain: 'https://cairn-123456789012.auth.eu-west-1.amazoncognito.com',
      redirectUri: client.Properties.CallbackURLs[0],
      scopes: ['openid', 'email', scope],
    });
    // The client allows every scope asked for (its own scope as a reference to the resource server).
    expect(client.Properties.AllowedOAuthScopes.slice(0, 2)).toEqual(cfg.scopes.slice(0, 2));
    // The authorizer takes this client's access tokens (HTTP API JWT authorizer: `client_id` is matched against the audience), and every route needs the scope asked for.
    const [[, authorizer]] = t.ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Json]];
    expect(authorizer.Properties.JwtConfiguration.Audience).toEqual([cfg.clientId]);
    const routes = t
      .ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((r) => r.ApiId.Ref === t.id(t.site.api.api));
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.AuthorizationScopes).toEqual([scope]);
    // Deployed values in place of the references, the console accepts it as a Cognito configuration.
    const deployed = { ...cfg, userPoolId: 'eu-west-1_Abc', clientId: 'abc123', redirectUri: 'https://d111.cloudfront.net/' };
    expect(cognitoConfigOf(deployed)).toEqual(deployed);
  });

  it('no first admin unless cairn:consoleAdminEmail names one', () => {
    expect(t.ofType('AWS::Cognito::UserPoolUser')).toHaveLength(0);
    expect(t.ofType('AWS::Cognito::UserPoolUserToGroupAttachment')).toHaveLength(0);
  });

  it('without a build, deploys a placeholder index.html and config.json, revalidated on every load, then invalidates the cache', () => {
    expect(t.site.built).toBe(false);
    expect(PLACEHOLDER_PAGE).toContain('docs/deploy.md');
    const deployments = t.ofType('Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    const [, d] = deployments[0]!;
    expect(d.Properties).toMatchObject({
      DestinationBucketName: { Ref: t.id(t.site.bucket) },
      Prune: false,
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionId: { Ref: t.id(t.site.distribution) },
      DistributionPaths: ['/*'],
    });
    expect(d.Properties.SourceObjectKeys).toHaveLength(2);
    // config.json: the pool, its client and the console URL, filled in at deploy time.
    const markers = JSON.stringify(d.Properties.SourceMarkers);
    for (const c of [t.site.users.userPool, t.site.client, t.site.distribution]) expect(markers).toContain(`"${t.id(c)}"`);
  });

  it("the deployment role: GetObject on exactly the source zips, ListBucket and PutObject on the console bucket, this distribution's invalidations, its own logs; no delete, no managed policy", () => {
    const roleId = t.id(t.site.deployRole);
    const role = t.resources[roleId]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = t
      .ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    const actions = statements.flatMap((st) => asArray(st.Action as string | string[])).sort();
    expect(actions).toEqual(
      [
        'cloudfront:CreateInvalidation',
        'cloudfront:GetInvalidation',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
    const bucketArn = { 'Fn::GetAtt': [t.id(t.site.bucket), 'Arn'] };
    const on = (a: string) => statements.find((st) => asArray(st.Action).includes(a))!.Resource;
    expect(on('s3:ListBucket')).toEqual(bucketArn);
    expect(on('s3:PutObject')).toEqual({ 'Fn::Join': ['', [bucketArn, '/*']] });
    expect(on('cloudfront:CreateInvalidation')).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::123456789012:distribution/', { Ref: t.id(t.site.distribution) }]],
    });
    const [, d] = t.ofType('Custom::CDKBucketDeployment')[0]!;
    const zips = asArray(on('s3:GetObject')).map((r) => JSON.stringify(r));
    expect(zips).toHaveLength(2);
    for (const key of d.Properties.SourceObjectKeys as string[]) expect(zips.some((z) => z.endsWith(`/${key}"]]}`))).toBe(true);
    // The custom resource runs once the role can do all that.
    expect(d.DependsOn).toEqual(expect.arrayContaining([roleId]));
  });

  it('outputs the console URL, the user pool and client ids and the sign-in domain', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, Json>;
    expect(outputs.ConsoleUrl!.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [t.id(t.site.distribution), 'DomainName'] }, '/']] });
    expect(outputs.ConsoleUserPoolId!.Value).toEqual({ Ref: t.id(t.site.users.userPool) });
    expect(outputs.ConsoleUserPoolClientId!.Value).toEqual({ Ref: t.id(t.site.client) });
    expect(outputs.ConsoleSignInDomain!.Value).toBe('https://cairn-123456789012.auth.eu-west-1.amazoncognito.com');
  });
});

describe('console site with a build, a first admin, a stage', () => {
  let s: Synthesised;
  let t: ReturnType<typeof view>;
  beforeAll(() => {
    s = synthCairn({}, { [CONTEXT.consoleDist]: BUILT, [CONTEXT.consoleAdminEmail]: 'ops@example.com', [CONTEXT.stage]: 'dev' });
    t = view(s);
  });

  it('invites the first admin and puts them in the admin group', () => {
    const [[userId, user]] = t.ofType('AWS::Cognito::UserPoolUser') as [[string, Json]];
    expect(user.Properties).toEqual({
      UserPoolId: { Ref: t.id(t.site.users.userPool) },
      Username: 'ops@example.com',
      DesiredDeliveryMediums: ['EMAIL'],
      UserAttributes: [
        { Name: 'email', Value: 'ops@example.com' },
        { Name: 'email_verified', Value: 'true' },
      ],
    });
    const [[, attach]] = t.ofType('AWS::Cognito::UserPoolUserToGroupAttachment') as [[string, Json]];
    expect(attach.Properties).toEqual({ UserPoolId: { Ref: t.id(t.site.users.userPool) }, GroupName: 'admin', Username: 'ops@example.com' });
    expect(attach.DependsOn).toEqual(expect.arrayContaining([userId, t.id(t.site.users.groups.admin)]));
  });

  it('deploys the hashed assets first (cached a year), then the rest with config.json (revalidated), and invalidates', () => {
    expect(t.site.built).toBe(true);
    const deployments = t.ofType('Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(2);
    const assets = deployments.find(([, d]) => d.Properties.Include)!;
    const entry = deployments.find(([, d]) => !d.Properties.Include)!;
    expect(assets[1].Properties).toMatchObject({
      Exclude: ['*'],
      Include: [`${CONSOLE.assetsPrefix}*`],
      Prune: false,
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
    expect(assets[1].Properties.DistributionId).toBeUndefined();
    expect(entry[1].Properties).toMatchObject({
      Exclude: [`${CONSOLE.assetsPrefix}*`],
      Prune: false,
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionPaths: ['/*'],
    });
    // index.html never names chunks that are not uploaded yet.
    expect(entry[1].DependsOn).toEqual(expect.arrayContaining([assets[0]]));
    // Both copy the same build; the entry adds config.json.
    expect(entry[1].Properties.SourceObjectKeys[0]).toBe(assets[1].Properties.SourceObjectKeys[0]);
    expect(entry[1].Properties.SourceObjectKeys).toHaveLength(2);
  });

  it('a staged stack names the pool, the API and the sign-in domain with the stage', () => {
    const [[, pool]] = t.ofType('AWS::Cognito::UserPool') as [[string, Json]];
    expect(pool.Properties.UserPoolName).toBe('cairn-console-dev');
    const [[, domain]] = t.ofType('AWS::Cognito::UserPoolDomain') as [[string, Json]];
    expect(domain.Properties.Domain).toBe('cairn-dev-123456789012');
  });

  it('has no unacknowledged cdk-nag finding either', () => {
    expect(nagFindings(s)).toEqual([]);
  });
});

describe('console settings', () => {
  it('cairn:console=false leaves out the site, the user pool and the console API', () => {
    const s = synthCairn({}, { [CONTEXT.console]: 'false' });
    const t = view(s);
    expect(s.stack.console).toBeUndefined();
    for (const type of ['AWS::Cognito::UserPool', 'AWS::CloudFront::Distribution', 'Custom::CDKBucketDeployment', 'AWS::ApiGatewayV2::Authorizer'])
      expect(t.ofType(type), type).toHaveLength(0);
    expect(t.ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(s.template.toJSON().Outputs.ConsoleUrl).toBeUndefined();
  });

  it('cairn:consoleDomainPrefix names the sign-in domain (and the CSP follows); a prefix Cognito refuses fails the synth', () => {
    const s = synthCairn({}, { [CONTEXT.consoleDomainPrefix]: 'acme-cairn' });
    const t = view(s);
    expect(t.ofType('AWS::Cognito::UserPoolDomain')[0]![1].Properties.Domain).toBe('acme-cairn');
    expect(
      t.resources[t.id(t.site.headers)]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy,
    ).toContain("connect-src 'self' https://acme-cairn.auth.eu-west-1.amazoncognito.com;");
    for (const bad of ['Acme', '-acme', 'acme-', 'my-cognito', 'aws-cairn', 'a_b'])
      expect(() => synthCairn({}, { [CONTEXT.consoleDomainPrefix]: bad }), bad).toThrow(/consoleDomainPrefix/);
    expect(() => synthCairn({}, { [CONTEXT.consoleAdminEmail]: 'not-an-email' })).toThrow(/consoleAdminEmail/);
  });

  it('a WebACL given for the API edge is attached to the console too', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/cairn-edge/0123abcd-0000-0000-0000-000000000000';
    const s = synthCairn({}, { [CONTEXT.webAclArn]: arn });
    const t = view(s);
    expect(t.resources[t.id(t.site.distribution)]!.Properties.DistributionConfig.WebACLId).toBe(arn);
    expect(nagFindings(s)).toEqual([]);
  });
});
