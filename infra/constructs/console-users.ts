/**
 * Who may sign in to the console on AWS: a Cognito user pool the stack creates (docs/deploy.md#console-on-aws,
 * docs/security.md#console-roles). Nobody signs themselves up: an admin invites each user (the first
 * through `cairn:consoleAdminEmail`). Sign-in is the pool's hosted pages: a password of at least
 * CONSOLE.passwordMinLength characters and, always, an authenticator app (TOTP MFA, set up on the
 * first sign-in); the Plus plan's threat protection blocks sign-ins with leaked passwords and risky
 * ones. One group per console role; the console's app client is a public client (no secret) using
 * the authorization code flow with PKCE, returning to the console's own URL only.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { CONSOLE, CONSOLE_ROLES, type ConsoleRole } from '#shared/config';
import type { CairnSettings } from '../settings';

/**
 * The hosted sign-in domain's prefix: `cairn:consoleDomainPrefix`, else `cairn-<account>` (or
 * `cairn-<stage>-<account>`), since Cognito domain prefixes are unique per region across all accounts.
 */
export function domainPrefixOf(scope: Construct, s: CairnSettings): string {
  return s.consoleDomainPrefix ?? `${s.name('cairn')}-${Stack.of(scope).account}`;
}

/** The hosted sign-in pages' origin, built from the prefix as Cognito names it (so a CSP needs no reference to the domain resource). */
export function authOriginOf(scope: Construct, domainPrefix: string): string {
  return `https://${domainPrefix}.auth.${Stack.of(scope).region}.amazoncognito.com`;
}

export interface ConsoleUsersProps {
  /** The console's URL: named in the invitation email, and where sign-in returns. */
  consoleUrl: string;
  domainPrefix: string;
}

export class ConsoleUsers extends Construct {
  readonly userPool: cognito.UserPool;
  readonly groups: Record<ConsoleRole, cognito.UserPoolGroup>;
  readonly resourceServer: cognito.UserPoolResourceServer;
  readonly consoleScope: cognito.ResourceServerScope;
  readonly domain: cognito.UserPoolDomain;
  readonly domainPrefix: string;
  /** The invited first admin, when `cairn:consoleAdminEmail` is set. */
  readonly firstAdmin?: cognito.CfnUserPoolUser;
  client?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, s: CairnSettings, props: ConsoleUsersProps) {
    super(scope, id);
    const { consoleUrl, domainPrefix } = props;
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: s.name('cairn-console'),
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: CONSOLE.passwordMinLength,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(CONSOLE.temporaryPasswordDays),
        passwordHistorySize: 5,
      },
      // Required, not optional: a console user can export and erase people's data (admins) or change
      // what is sent to customers (marketers); a password alone is one phishing page away from that.
      mfa: cognito.Mfa.REQUIRED,
      // An authenticator app only: SMS codes can be intercepted (SIM swap) and would need an SNS role and spend.
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Plus: threat protection (compromised credentials, adaptive authentication) enforced on every sign-in.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      userInvitation: {
        emailSubject: 'Your Cairn console account',
        emailBody: `You have been invited to the Cairn console at ${consoleUrl}. Sign in as {username} with the temporary password {####}; you will then choose your own password and set up an authenticator app.`,
      },
      deletionProtection: s.deletionProtection,
      removalPolicy: s.dataRemovalPolicy,
    });

    this.groups = Object.fromEntries(
      CONSOLE_ROLES.map((role, precedence) => [
        role,
        this.userPool.addGroup(`Group${role[0]!.toUpperCase()}${role.slice(1)}`, { groupName: role, description: CONSOLE.groups[role], precedence }),
      ]),
    ) as Record<ConsoleRole, cognito.UserPoolGroup>;

    // The console routes require this scope: only access tokens carry scopes, so an ID token is refused at the authorizer.
    this.consoleScope = new cognito.ResourceServerScope({ scopeName: CONSOLE.scope, scopeDescription: 'Call the Cairn admin API from the console' });
    this.resourceServer = this.userPool.addResourceServer('AdminApi', {
      identifier: CONSOLE.resourceServer,
      userPoolResourceServerName: 'Cairn admin API',
      scopes: [this.consoleScope],
    });

    this.domainPrefix = domainPrefix;
    this.domain = this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: this.domainPrefix } });

    if (s.consoleAdminEmail) {
      const email = s.consoleAdminEmail;
      this.firstAdmin = new cognito.CfnUserPoolUser(this, 'FirstAdmin', {
        userPoolId: this.userPool.userPoolId,
        username: email,
        desiredDeliveryMediums: ['EMAIL'],
        userAttributes: [
          { name: 'email', value: email },
          // The invitation goes to this address: it is the one the deployer named.
          { name: 'email_verified', value: 'true' },
        ],
      });
      const attach = new cognito.CfnUserPoolUserToGroupAttachment(this, 'FirstAdminGroup', {
        userPoolId: this.userPool.userPoolId,
        groupName: 'admin',
        username: email,
      });
      attach.addResourceDependency(this.firstAdmin);
      attach.addResourceDependency(this.groups.admin.node.defaultChild as cognito.CfnUserPoolGroup);
    }
  }

  /** The hosted sign-in pages' origin. */
  get authOrigin(): string {
    return authOriginOf(this, this.domainPrefix);
  }

  /** The console's app client: authorization code with PKCE, no secret, back to `consoleUrl` only. */
  addClient(consoleUrl: string): cognito.UserPoolClient {
    this.client = this.userPool.addClient('ConsoleClient', {
      userPoolClientName: 'cairn-console',
      generateSecret: false,
      // SRP (the password never leaves the browser) and refresh; the hosted pages are how users sign in.
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.resourceServer(this.resourceServer, this.consoleScope)],
        callbackUrls: [consoleUrl],
        logoutUrls: [consoleUrl],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.minutes(CONSOLE.accessTokenMinutes),
      idTokenValidity: Duration.minutes(CONSOLE.accessTokenMinutes),
      refreshTokenValidity: Duration.hours(CONSOLE.refreshTokenHours),
    });
    return this.client;
  }
}
