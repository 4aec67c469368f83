#!/usr/bin/env node
// `npx cairn`: loads the TypeScript CLI (cli/main.ts) through tsx, so no build step is needed.
// Paths resolve from this file, so it works from any working directory.
import { register } from 'tsx/esm/api';

// On failure the CLI prints a one-line reason on stderr (docs/cli.md); the AWS SDK's Node 20 notice would add noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The repository's tsconfig, not the working directory's: its `paths` resolve the `#shared/…` imports.
register({ tsconfig: new URL('../tsconfig.json', import.meta.url).pathname });
const { main } = await import(new URL('../cli/main.ts', import.meta.url).href);
await main();
