#!/usr/bin/env node
// `npm run build`'s last step: bundles the compiled workflow code once (dist/workflow-bundle.js), so
// that workers need not run webpack at start (src/temporal/workflow-bundle.ts).
import { writePrebuiltBundle } from '../dist/src/temporal/workflow-bundle.js';

const path = await writePrebuiltBundle();
console.error(`workflow bundle: ${path}`);
