/**
 * Synthesises CairnStack the way `npx cdk synth` does (the context of cdk.json), but with
 * function bundling skipped (`aws:cdk:bundling-stacks: []`): NodejsFunction then points its code
 * asset at the project root without running esbuild, so a synth takes seconds.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CairnStack, type CairnStackProps } from '#infra/stack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface Synthesised {
  app: App;
  stack: CairnStack;
  template: Template;
}

export function synthCairn(props: CairnStackProps = {}, context: Record<string, unknown> = {}): Synthesised {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new CairnStack(app, 'CairnTest', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

/** cdk-nag AwsSolutions findings that are not acknowledged (errors and warnings). */
export function nagFindings(s: Synthesised): { severity: string; rule: string; paths: string[]; description: string }[] {
  const report = new AwsSolutionsChecks(s.app).validateScope(s.stack);
  return report.violations.map((v) => ({
    severity: v.severity ?? 'error',
    rule: v.ruleName,
    paths: v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId ?? '?'),
    description: v.description.slice(0, 160),
  }));
}
