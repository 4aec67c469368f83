/**
 * Security settings of the template (docs/security.md): IAM on every admin route and none on the
 * collector routes, per-route admin throttling, the optional CloudFront + WAF edge (off by default;
 * a rate-based rule when on), the DynamoDB on-demand throughput cost guard, and who may delete lake
 * objects (λ erase only, on the prefixes it rewrites: docs/privacy.md), and λ admin's lake access
 * (the export's reads and the audit log's writes: docs/security.md#audit-log).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { ADMIN_ROUTE_THROTTLE, CONSOLE, FUNCTIONS, LAKE, ROUTES, TABLES } from '#shared/config/resources';
import { CONTEXT } from '#infra/settings';
import { WAF_RATE_RULE } from '#infra/constructs/waf';
import { ERASURE_LAKE_PREFIXES } from '#shared/privacy';
import { ATHENA_RESULTS_PREFIX } from '#infra/constructs/lake';
import { nagFindings, synthCairn, type Synthesised } from './synth';

type Json = Record<string, any>;
const ofType = (s: Synthesised, type: string): [string, Json][] =>
  Object.entries(s.template.toJSON().Resources as Record<string, Json>).filter(([, r]) => r.Type === type);

let base: Synthesised;
beforeAll(() => {
  base = synthCairn();
});
/** Resources of the collector API (collection and IAM-authorised admin routes), or of the console's (infra/constructs/console-api.ts). */
const onApi = (s: Synthesised, api: 'collector' | 'console') => {
  const id = s.stack.getLogicalId((api === 'collector' ? s.stack.collection.api : s.stack.console!.api.api).node.defaultChild as never);
  return ([, r]: [string, Json]) => r.Properties.ApiId?.Ref === id;
};

describe('admin API authorisation', () => {
  it('every admin route uses AWS_IAM, every collector route NONE (write key checked by λ collect)', () => {
    const routes = ofType(base, 'AWS::ApiGatewayV2::Route').filter(onApi(base, 'collector'));
    const admin = ROUTES.filter((r) => r.auth === 'admin');
    expect(admin.length).toBeGreaterThan(15);
    for (const r of ROUTES) {
      const found = routes.find(([, x]) => x.Properties.RouteKey === `${r.method} ${r.path}`);
      expect(found, `${r.method} ${r.path}`).toBeDefined();
      expect(found![1].Properties.AuthorizationType, `${r.method} ${r.path}`).toBe(r.auth === 'admin' ? 'AWS_IAM' : 'NONE');
      if (r.auth === 'writeKey') expect(FUNCTIONS[r.fn].id).toBe('Collect');
    }
    // No route the definitions do not declare (e.g. a $default catch-all without auth).
    expect(routes.map(([, x]) => x.Properties.RouteKey).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('the console API carries exactly the admin routes, each behind the user pool JWT authorizer with the console scope; no other API, no route without auth', () => {
    const apis = ofType(base, 'AWS::ApiGatewayV2::Api');
    expect(apis).toHaveLength(2);
    const all = ofType(base, 'AWS::ApiGatewayV2::Route');
    const console = all.filter(onApi(base, 'console'));
    expect(all).toHaveLength(all.filter(onApi(base, 'collector')).length + console.length);
    const admin = ROUTES.filter((r) => r.auth === 'admin');
    expect(console.map(([, x]) => x.Properties.RouteKey).sort()).toEqual(admin.map((r) => `${r.method} ${r.path}`).sort());
    const [[authorizerId, authorizer]] = ofType(base, 'AWS::ApiGatewayV2::Authorizer') as [[string, Json]];
    const c = base.stack.console!;
    expect(authorizer.Properties).toEqual({
      ApiId: { Ref: base.stack.getLogicalId(c.api.api.node.defaultChild as never) },
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: base.stack.getLogicalId(c.client.node.defaultChild as never) }],
        Issuer: {
          'Fn::Join': ['', ['https://cognito-idp.eu-west-1.amazonaws.com/', { Ref: base.stack.getLogicalId(c.users.userPool.node.defaultChild as never) }]],
        },
      },
      Name: 'console-users',
    });
    const adminFn = base.stack.getLogicalId(base.stack.catalog.fn('admin').function.node.defaultChild as never);
    for (const [id, r] of console) {
      expect(r.Properties.AuthorizationType, id).toBe('JWT');
      expect(r.Properties.AuthorizerId, id).toEqual({ Ref: authorizerId });
      // Only access tokens carry scopes: an ID token of the pool is refused at the authorizer.
      expect(r.Properties.AuthorizationScopes, id).toEqual([`${CONSOLE.resourceServer}/${CONSOLE.scope}`]);
      const integration = base.template.toJSON().Resources[r.Properties.Target['Fn::Join'][1][1].Ref];
      expect(integration.Properties.IntegrationUri, id).toEqual({ 'Fn::GetAtt': [adminFn, 'Arn'] });
    }
    // Reached through the console's own origin: no CORS, so no other page can read its answers.
    const [, consoleApi] = apis.find(([id]) => id === base.stack.getLogicalId(c.api.api.node.defaultChild as never))!;
    expect(consoleApi.Properties.CorsConfiguration).toBeUndefined();
  });

  it('the console API stage is throttled at the admin route limit and logs the caller by id, without personal data', () => {
    const [[, stage]] = ofType(base, 'AWS::ApiGatewayV2::Stage').filter(onApi(base, 'console')) as [[string, Json]];
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: ADMIN_ROUTE_THROTTLE.rateLimit,
      ThrottlingBurstLimit: ADMIN_ROUTE_THROTTLE.burstLimit,
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format.caller).toBe('$context.authorizer.claims.sub');
    expect(format.routeKey).toBe('$context.routeKey');
    expect(Object.values(format).join(' ')).not.toMatch(/sourceIp|userAgent|context\.path|rawPath|querystring|email/i);
  });

  it('the source key routes are admin routes and λ admin may write the sources table, λ collect only read it', () => {
    for (const key of ['GET /v1/sources', 'POST /v1/sources/{id}/keys', 'DELETE /v1/sources/{id}/keys/{keyId}']) {
      expect(ROUTES.find((r) => `${r.method} ${r.path}` === key)?.auth, key).toBe('admin');
    }
    expect([...FUNCTIONS.admin.access.tables.sources].sort()).toEqual(['PutItem', 'Scan', 'UpdateItem']);
    expect(FUNCTIONS.collect.access.tables.sources).toEqual(['GetItem']);
  });

  it('admin routes are throttled per route below the stage limit', () => {
    const [[, stage]] = ofType(base, 'AWS::ApiGatewayV2::Stage').filter(onApi(base, 'collector')) as [[string, Json]];
    const settings = stage.Properties.RouteSettings as Record<string, Json>;
    const admin = ROUTES.filter((r) => r.auth === 'admin').map((r) => `${r.method} ${r.path}`);
    expect(Object.keys(settings).sort()).toEqual(admin.sort());
    for (const k of admin)
      expect(settings[k]).toEqual({ ThrottlingRateLimit: ADMIN_ROUTE_THROTTLE.rateLimit, ThrottlingBurstLimit: ADMIN_ROUTE_THROTTLE.burstLimit });
    // The stage waits for the routes its settings name.
    const routeIds = ofType(base, 'AWS::ApiGatewayV2::Route')
      .filter(onApi(base, 'collector'))
      .filter(([, x]) => admin.includes(x.Properties.RouteKey))
      .map(([id]) => id);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });
});

describe('edge and WAF (optional)', () => {
  it("is off by default: no CloudFront in front of the collector API (the one distribution is the console's), no WebACL", () => {
    const distributions = ofType(base, 'AWS::CloudFront::Distribution');
    expect(distributions.map(([id]) => id)).toEqual([base.stack.getLogicalId(base.stack.console!.distribution.node.defaultChild as never)]);
    const collectorApi = base.stack.getLogicalId(base.stack.collection.api.node.defaultChild as never);
    expect(JSON.stringify(distributions)).not.toContain(`"${collectorApi}"`);
    expect(ofType(base, 'AWS::WAFv2::WebACL')).toHaveLength(0);
    expect(base.template.toJSON().Outputs.EdgeUrl).toBeUndefined();
    // Without the console: no CloudFront at all.
    const bare = synthCairn({}, { [CONTEXT.console]: 'false' });
    expect(ofType(bare, 'AWS::CloudFront::Distribution')).toHaveLength(0);
    expect(ofType(bare, 'AWS::WAFv2::WebACL')).toHaveLength(0);
  });

  it('wafRateLimit in us-east-1: a CLOUDFRONT WebACL with a per-IP rate rule on a distribution in front of the API', () => {
    const s = synthCairn({ env: { account: '123456789012', region: 'us-east-1' } }, { [CONTEXT.wafRateLimit]: '1000' });
    const [[aclId, acl]] = ofType(s, 'AWS::WAFv2::WebACL') as [[string, Json]];
    expect(acl.Properties).toMatchObject({
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        {
          Name: WAF_RATE_RULE,
          Priority: 0,
          Statement: { RateBasedStatement: { Limit: 1000, AggregateKeyType: 'IP' } },
          Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
        },
      ],
    });
    s.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: { 'Fn::GetAtt': [aclId, 'Arn'] },
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'https-only', AllowedMethods: Match.arrayWith(['OPTIONS', 'POST']) }),
        Origins: [Match.objectLike({ DomainName: Match.anyValue(), CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only' }) })],
      }),
    });
    expect(s.template.toJSON().Outputs.EdgeUrl).toBeDefined();
    // The viewer's host reaches the collector, so the analytics.js settings keep pages on the edge.
    const [[fnId, fn]] = ofType(s, 'AWS::CloudFront::Function') as [[string, Json]];
    expect(fn.Properties.FunctionCode).toContain("r.headers['x-cairn-public-host']");
    s.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }],
        }),
      }),
    });
    expect(nagFindings(s).filter((f) => f.severity === 'error' || f.rule.startsWith('AwsSolutions-CFR'))).toEqual([]);
  });

  it('wafRateLimit outside us-east-1 fails with the way out; webAclArn attaches an existing WebACL anywhere', () => {
    expect(() => synthCairn({}, { [CONTEXT.wafRateLimit]: 1000 })).toThrow(/us-east-1[\s\S]*cairn:webAclArn/);
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/cairn-edge/0123abcd-0000-0000-0000-000000000000';
    const s = synthCairn({}, { [CONTEXT.webAclArn]: arn });
    expect(ofType(s, 'AWS::WAFv2::WebACL')).toHaveLength(0);
    s.template.hasResourceProperties('AWS::CloudFront::Distribution', { DistributionConfig: Match.objectLike({ WebACLId: arn }) });
    expect(() => synthCairn({}, { [CONTEXT.webAclArn]: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/y' })).toThrow(/scope CLOUDFRONT/);
    expect(() => synthCairn({}, { [CONTEXT.wafRateLimit]: 50 })).toThrow(/from 100/);
  });
});

describe('DynamoDB cost guard', () => {
  it('no cap by default', () => {
    for (const [, t] of ofType(base, 'AWS::DynamoDB::Table')) expect(t.Properties.OnDemandThroughput).toBeUndefined();
  });

  it('caps every table at maxTableReadUnits / maxTableWriteUnits', () => {
    const s = synthCairn({}, { [CONTEXT.maxTableReadUnits]: '4000', [CONTEXT.maxTableWriteUnits]: 2000 });
    const tables = ofType(s, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const [id, t] of tables) {
      expect(t.Properties.BillingMode, id).toBe('PAY_PER_REQUEST');
      expect(t.Properties.OnDemandThroughput, id).toEqual({ MaxReadRequestUnits: 4000, MaxWriteRequestUnits: 2000 });
    }
    expect(() => synthCairn({}, { [CONTEXT.maxTableReadUnits]: '1.5' })).toThrow(/whole number/);
  });
});

describe('lake object deletion (docs/privacy.md)', () => {
  const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
  /** Every Allow statement of every IAM policy with the logical ids of the roles it is attached to. */
  const allows = (s: Synthesised) =>
    ofType(s, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((st) => st.Effect === 'Allow')
        .map((st) => ({
          policy: id,
          roles: (p.Properties.Roles as Json[]).map((r) => r.Ref as string),
          actions: asArray(st.Action as string | string[]),
          resources: asArray(st.Resource),
        })),
    );
  const deletes = (a: string) => /^s3:(\*|Delete|PutLifecycle|PutBucketLifecycle)/.test(a);

  it.each([
    ['default', () => base],
    [
      'stage dev, SQS failure destination, retain=false',
      () => synthCairn({}, { 'cairn:stage': 'dev', 'cairn:failureDestination': 'sqs', 'cairn:retain': 'false' }),
    ],
  ])(
    '%s: only λ erase may delete lake objects and their versions, with s3:DeleteObject and s3:DeleteObjectVersion on exactly the prefixes its pass rewrites',
    (_label, make) => {
      const s = make();
      const resources = s.template.toJSON().Resources as Record<string, Json>;
      const eraseFn = s.stack.getLogicalId(s.stack.catalog.fn('erase').function.node.defaultChild as never);
      const eraseRole = resources[eraseFn]!.Properties.Role['Fn::GetAtt'][0] as string;
      const lake = s.stack.getLogicalId(s.stack.lake.bucket.node.defaultChild as never);

      const deleting = allows(s).filter((st) => st.actions.some(deletes));
      expect(deleting.length).toBeGreaterThan(0);
      // No other role (function, scheduler, custom resource) may delete an object or a version.
      for (const st of deleting) expect(st.roles, `${st.policy}: ${st.actions.join()}`).toEqual([eraseRole]);
      // Versions: the noncurrent ones of an object it rewrote (shared/privacy/lake.ts), which hold the erased rows.
      expect(deleting.flatMap((st) => st.actions.filter(deletes))).toEqual(['s3:DeleteObject', 's3:DeleteObjectVersion']);
      // Listing versions (keys and version ids, no content): λ erase only, on the lake bucket.
      const versionListers = allows(s).filter((st) => st.actions.some((a) => /^s3:(\*|ListBucketVersions)$/.test(a)));
      expect(versionListers.flatMap((st) => st.roles)).toEqual([eraseRole]);
      expect(versionListers.flatMap((st) => st.resources)).toEqual([{ 'Fn::GetAtt': [lake, 'Arn'] }]);
      expect(deleting).toHaveLength(1);
      const prefixes = [...ERASURE_LAKE_PREFIXES].sort();
      expect(deleting[0]!.resources).toHaveLength(prefixes.length);
      expect(deleting[0]!.resources).toEqual(expect.arrayContaining(prefixes.map((p) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [lake, 'Arn'] }, `/${p}*`]] }))));
      // The pass lists exactly these prefixes, and λ erase's declared access names them.
      expect([...FUNCTIONS.erase.access.lake.delete].sort()).toEqual(prefixes);
      expect([...FUNCTIONS.erase.access.lake.deleteVersions].sort()).toEqual(prefixes);
      for (const [name, def] of Object.entries(FUNCTIONS)) {
        const lakeAccess = (def.access as { lake?: { delete?: boolean; deleteVersions?: boolean; listVersions?: boolean } }).lake;
        expect(!!lakeAccess?.delete, name).toBe(name === 'erase');
        expect(!!lakeAccess?.deleteVersions, name).toBe(name === 'erase');
        expect(!!lakeAccess?.listVersions, name).toBe(name === 'erase');
      }
      // No bucket policy grants deletion to anyone either (the lake's only allows are none: it denies non-TLS).
      for (const [id, bp] of ofType(s, 'AWS::S3::BucketPolicy')) {
        const st = (bp.Properties.PolicyDocument.Statement as Json[]).filter(
          (x) => x.Effect === 'Allow' && asArray(x.Action as string | string[]).some(deletes),
        );
        expect(st, id).toEqual([]);
      }
    },
  );

  it('λ admin in the lake: writes only the audit log, the replay ledger and Athena results; reads what its routes and Athena read; never deletes', () => {
    const resources = base.template.toJSON().Resources as Record<string, Json>;
    const adminFn = base.stack.getLogicalId(base.stack.catalog.fn('admin').function.node.defaultChild as never);
    const adminRole = resources[adminFn]!.Properties.Role['Fn::GetAtt'][0] as string;
    const lake = base.stack.getLogicalId(base.stack.lake.bucket.node.defaultChild as never);
    const onLake = allows(base).filter(
      (st) => st.roles.includes(adminRole) && st.actions.some((a) => a.startsWith('s3:')) && JSON.stringify(st.resources).includes(lake),
    );
    const prefixed = (p: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [lake, 'Arn'] }, `/${p}*`]] });
    const grants = onLake.flatMap((st) => st.actions.flatMap((a) => st.resources.map((r) => `${a} ${JSON.stringify(r)}`)));
    const g = (a: string, p: string) => `${a} ${JSON.stringify(prefixed(p))}`;
    const bucket = (a: string) => `${a} ${JSON.stringify({ 'Fn::GetAtt': [lake, 'Arn'] })}`;
    // The export (events/), quarantine replay (quarantine/ and its ledger), the audit log; Athena: every
    // lake table's prefix read, its results written and read (infra/constructs/lake-query-access.ts).
    const tables = [
      LAKE.eventsPrefix,
      LAKE.parquetEventsPrefix,
      LAKE.compactionManifestsPrefix,
      LAKE.quarantinePrefix,
      LAKE.profilesPrefix,
      LAKE.auditPrefix,
      LAKE.journeyStepsPrefix,
    ];
    expect([...new Set(grants)].sort()).toEqual(
      [
        ...tables.map((p) => g('s3:GetObject', p)),
        g('s3:GetObject', 'replay/quarantine/'),
        g('s3:PutObject', 'replay/quarantine/'),
        g('s3:PutObject', LAKE.auditPrefix),
        g('s3:GetObject', ATHENA_RESULTS_PREFIX),
        g('s3:PutObject', ATHENA_RESULTS_PREFIX),
        bucket('s3:ListBucket'),
        bucket('s3:GetBucketLocation'),
      ].sort(),
    );
    expect(FUNCTIONS.admin.access.lake).toEqual({
      read: [LAKE.eventsPrefix, LAKE.quarantinePrefix, 'replay/quarantine/'],
      write: [LAKE.auditPrefix, 'replay/quarantine/'],
      list: true,
    });
  });
});
