/** CDK entry point (`cdk.json`: `node --import tsx infra/app.ts`). */
import { createCairnApp } from './build';

createCairnApp().app.synth();
