import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config, type SiteConfig } from './schema.js';

export const DEFAULT_CONFIG_PATHS = ['sddc-ops.yaml', 'config/sddc-ops.yaml'];

/** A config problem the operator must fix; the CLI prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // Never echo the received value: a secret pasted by mistake must not reach a terminal or log.
  const where = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown key(s) ${issue.keys.join(', ')} — check the spelling against config/sddc-ops.example.yaml`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `${where}: required — add it (see config/sddc-ops.example.yaml)`;
  }
  // A key of a map (a site's name) that breaks its rule: the rule's own words, not "Invalid key in record".
  if (issue.code === 'invalid_key' && issue.issues[0]) return `${where}: ${issue.issues[0].message}`;
  return `${where}: ${issue.message}`;
}

export function parseConfig(text: string, file: string): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) throw new ConfigError(file, ['the file is empty: start from config/sddc-ops.example.yaml']);
  const result = configSchema.safeParse(value);
  if (!result.success) throw new ConfigError(file, result.error.issues.map(describeIssue));
  return result.data;
}

/**
 * The last parse of each file, by its text: a worker reads its config at the start of every run
 * (so an edit reaches the next run), and parsing a fleet's config for each of hundreds of runs at
 * once cost more CPU than the runs' own HTTP. Same text, same (frozen) result; any edit re-parses.
 */
const lastParse = new Map<string, { text: string; config: Config }>();
function parsedOnce(text: string, file: string): Config {
  const last = lastParse.get(file);
  if (last?.text === text) return last.config;
  const config = deepFreeze(parseConfig(text, file));
  lastParse.set(file, { text, config });
  return config;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export function loadConfig(file?: string): { config: Config; file: string } {
  const candidates = file ? [file] : (process.env.SDDC_OPS_CONFIG ? [process.env.SDDC_OPS_CONFIG] : DEFAULT_CONFIG_PATHS);
  for (const candidate of candidates) {
    const abs = resolve(candidate);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (err) {
      if (file || process.env.SDDC_OPS_CONFIG) {
        throw new ConfigError(abs, [`cannot read the file (${(err as NodeJS.ErrnoException).code}); pass an existing file with --config`]);
      }
      continue;
    }
    return { config: parsedOnce(text, abs), file: abs };
  }
  throw new ConfigError(candidates.join(' or '), [
    'no configuration file found: pass --config FILE, set SDDC_OPS_CONFIG, or start from config/sddc-ops.example.yaml',
  ]);
}

export function siteOf(config: Config, file: string, site: string): SiteConfig {
  const found = config.sites[site];
  if (!found) {
    throw new ConfigError(file, [`sites.${site}: no such site; defined sites: ${Object.keys(config.sites).join(', ')}`]);
  }
  return found;
}
