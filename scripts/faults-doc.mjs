#!/usr/bin/env node
// Writes docs/faults.md from the fault matrix — the same table test/faults/matrix.test.ts runs —
// as compiled by `npm run build` (tsconfig.build.json includes test/faults/matrix.ts).
// `--check` writes nothing and exits 1 when the page is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/test/faults/matrix.js', import.meta.url);
const { MATRIX, FAULTS, renderFaultsDoc } = await import(compiled.href).catch((err) => {
  console.error(`cannot load ${fileURLToPath(compiled)} (run \`npm run build\` first): ${err.message}`);
  process.exit(2);
});
const page = fileURLToPath(new URL('../docs/faults.md', import.meta.url));
const text = renderFaultsDoc(MATRIX);
if (process.argv.includes('--check')) {
  let now = '';
  try {
    now = readFileSync(page, 'utf8');
  } catch {
    /* missing: out of date */
  }
  if (now !== text) {
    console.error('docs/faults.md is out of date: run `npm run faults:doc`');
    process.exit(1);
  }
  console.log('docs/faults.md is up to date');
} else {
  writeFileSync(page, text);
  console.log(`wrote docs/faults.md: ${MATRIX.length} rows, ${new Set(MATRIX.map((r) => r.fault)).size} of ${FAULTS.length} faults`);
}
