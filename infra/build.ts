/**
 * Builds the Cairn CDK app: one CairnStack (id `Cairn`, or `Cairn-<stage>` with `-c cairn:stage=dev`)
 * checked by cdk-nag's AWS Solutions rules. Unsuppressed findings fail `cdk synth`.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CairnStack, type CairnStackProps } from './stack';
import { CONTEXT } from './settings';

export function stackId(stage: string | undefined): string {
  return stage ? `Cairn-${stage}` : 'Cairn';
}

export function createCairnApp(appProps: AppProps = {}, stackProps: CairnStackProps = {}): { app: App; stack: CairnStack } {
  const app = new App(appProps);
  const stage = stackProps.stage ?? (app.node.tryGetContext(CONTEXT.stage) as string | undefined);
  const stack = new CairnStack(app, stackId(stage || undefined), {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    ...stackProps,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
