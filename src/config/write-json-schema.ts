import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.js';

/** The JSON Schema editors use for completion (yaml-language-server: $schema=...). */
export function configJsonSchema(): object {
  return {
    $id: 'https://sddc-ops.dev/schema/sddc-ops.schema.json',
    title: 'sddc-ops configuration',
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
  };
}

export const SCHEMA_PATH = fileURLToPath(new URL('../../../config/sddc-ops.schema.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, JSON.stringify(configJsonSchema(), null, 2) + '\n');
  console.log(`wrote ${SCHEMA_PATH}`);
}
