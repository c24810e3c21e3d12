import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/write-json-schema.js';
import { resolveSecret, SecretUnavailableError } from '../../src/config/secrets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const example = readFileSync(join(root, 'config/sddc-ops.example.yaml'), 'utf8');
const CLI = join(root, 'dist/src/cli/main.js');

function withChange(mutate: (doc: any) => void): string {
  const doc = parse(example);
  mutate(doc);
  return stringify(doc);
}

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/sddc-ops.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('/etc/sddc-ops.yaml');
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('accepts the documented example and fills defaults', () => {
    const c = parseConfig(example, 'example.yaml');
    const site = c.sites['tokyo-1']!;
    expect(site.backupTarget.port).toBe(22);
    expect(site.nsx.flavor).toBe('nsx-t');
    expect(site.backup.pollInterval).toBe('10s');
  });

  it('rejects a literal secret, naming the key path and never echoing the value', () => {
    const problems = problemsOf(withChange((d) => (d.sites['tokyo-1'].nsx.password = 'Sup3r-Secret!')));
    expect(problems.join('\n')).toMatch(/sites\.tokyo-1\.nsx\.password: must be a secret reference/);
    expect(problems.join('\n')).not.toContain('Sup3r-Secret!');
  });

  it('rejects a fingerprint that is not SHA256 of an ECDSA key, and says how to get one', () => {
    const problems = problemsOf(withChange((d) => (d.sites['tokyo-1'].backupTarget.hostKeyFingerprint = 'MD5:aa:bb')));
    expect(problems.join('\n')).toMatch(/backupTarget\.hostKeyFingerprint: .*ssh-keyscan -t ecdsa/);
  });

  it('names unknown keys, bad directories, plain http to a remote host and bad durations', () => {
    const problems = problemsOf(
      withChange((d) => {
        d.sites['tokyo-1'].nsx.pasword = 'env:X';
        d.sites['tokyo-1'].backupTarget.directory = 'relative/dir';
        d.sites['tokyo-1'].vcenter.url = 'http://vcsa.example.com';
        d.sites['tokyo-1'].backup.timeout = 'forever';
      }),
    ).join('\n');
    expect(problems).toMatch(/sites\.tokyo-1\.nsx: unknown key\(s\) pasword/);
    expect(problems).toMatch(/sites\.tokyo-1\.backupTarget\.directory: must be an absolute path/);
    expect(problems).toMatch(/sites\.tokyo-1\.vcenter\.url: must use https/);
    expect(problems).toMatch(/sites\.tokyo-1\.backup\.timeout: must be a duration/);
  });

  it('rejects a poll interval under 1s, a timeout shorter than the poll interval and a malformed URL, naming each key', () => {
    const problems = problemsOf(
      withChange((d) => {
        d.sites['tokyo-1'].backup = { pollInterval: '500ms', timeout: '5m' };
        d.sites['tokyo-1'].nsx.url = 'nsx manager at 10.0.0.5';
      }),
    ).join('\n');
    expect(problems).toMatch(/sites\.tokyo-1\.backup\.pollInterval: must be at least 1s/);
    expect(problems).toMatch(/sites\.tokyo-1\.nsx\.url: must be a URL/);
    expect(problems).not.toMatch(/Invalid URL$/m);
    const short = problemsOf(withChange((d) => (d.sites['tokyo-1'].backup = { pollInterval: '1m', timeout: '30s' }))).join('\n');
    expect(short).toMatch(/sites\.tokyo-1\.backup\.timeout: must be at least pollInterval \(1m\)/);
  });

  it('reports YAML syntax errors and missing required keys', () => {
    expect(problemsOf('sites: [unclosed').join()).toMatch(/YAML syntax/);
    const problems = problemsOf(withChange((d) => delete d.sites['tokyo-1'].nsx.backupPassphrase)).join('\n');
    expect(problems).toMatch(/sites\.tokyo-1\.nsx\.backupPassphrase: required/);
  });

  it('loadConfig names a missing file', () => {
    expect(() => loadConfig('/nonexistent/sddc-ops.yaml')).toThrow(/nonexistent\/sddc-ops\.yaml[\s\S]*ENOENT/);
  });

  it('the committed JSON Schema matches the zod schema (npm run schema regenerates it)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'config/sddc-ops.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('the CLI exits 2 on a bad config, printing file and key path but not the secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, withChange((d) => (d.sites['tokyo-1'].backupTarget.password = 'hunter2-Literal')));
    const r = spawnSync(process.execPath, [CLI, 'backup', 'run', '--site', 'tokyo-1', '--config', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('sites.tokyo-1.backupTarget.password');
    expect(r.stderr + r.stdout).not.toContain('hunter2-Literal');
  });

  it('the CLI exits 2 for an unknown site and lists the defined ones', () => {
    const r = spawnSync(process.execPath, [CLI, 'backup', 'run', '--site', 'osaka', '--config', join(root, 'config/sddc-ops.example.yaml')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sites\.osaka: no such site; defined sites: tokyo-1/);
  });

  it('usage errors exit 2 in every subcommand, naming the problem; --help exits 0', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    for (const [args, says] of [
      [['backup', 'list'], /say which site: --site NAME, or --all-sites/],
      [['backup', 'run'], /say which site: --site NAME, or --all-sites/],
      [['backup', 'run', '--site', 'x', '--if-busy', 'later'], /Allowed choices are queue, skip/],
      [['schedule', 'create', '--site', 'x', '--overlap', 'never'], /--overlap: Invalid option/],
      [['backup', 'frobnicate'], /unknown command 'frobnicate'/],
      [['backup', 'show'], /missing required argument 'set'/],
    ] as const) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(says);
    }
    expect(run('backup', 'run', '--help').status).toBe(0);
  });
});

describe('secret references', () => {
  it('resolves env: and file: references', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sec-'));
    writeFileSync(join(dir, 's'), 'from-file\n');
    expect(await resolveSecret(`file:${join(dir, 's')}`)).toBe('from-file');
    expect(await resolveSecret('env:SDDC_TEST_SECRET', { SDDC_TEST_SECRET: 'from-env' })).toBe('from-env');
  });

  it('explains a missing variable or file without leaking anything', async () => {
    await expect(resolveSecret('env:NOPE_NOT_SET', {})).rejects.toThrow(SecretUnavailableError);
    await expect(resolveSecret('env:NOPE_NOT_SET', {})).rejects.toThrow(/NOPE_NOT_SET is not set on this worker/);
    await expect(resolveSecret('file:/nonexistent/secret')).rejects.toThrow(/ENOENT reading \/nonexistent\/secret/);
    await expect(resolveSecret('plain-value')).rejects.toThrow(/env:NAME or file:PATH/);
  });
});

describe('schedules and retention in the config', () => {
  it('rejects a bad cron, an unknown time zone and cron together with every', () => {
    const problems = problemsOf(
      withChange((d) => {
        d.sites['tokyo-1'].schedules = [
          { cron: '0 2 * * 8', timezone: 'Asia/Nowhere' },
        ];
      }),
    ).join('\n');
    expect(problems).toMatch(/sites\.tokyo-1\.schedules\[0\]\.cron: the day-of-week field "8" is not valid/);
    expect(problems).toMatch(/sites\.tokyo-1\.schedules\[0\]\.timezone: "Asia\/Nowhere" is not an IANA time zone/);
    expect(problemsOf(withChange((d) => (d.sites['tokyo-1'].schedules = [{ cron: '0 2 * * *', every: '1h' }]))).join()).toMatch(/either cron or every/);
    expect(problemsOf(withChange((d) => (d.sites['tokyo-1'].backupTarget.retention = { keepLast: 0 }))).join()).toMatch(/retention\.keepLast/);
  });
});

describe('loading the same file again', () => {
  it('parses it once while its text is unchanged, again after any edit, and hands out a result nobody can change', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-cache-')), 'sddc-ops.yaml');
    writeFileSync(file, example);
    const first = loadConfig(file).config;
    expect(loadConfig(file).config).toBe(first);
    expect(Object.isFrozen(first.sites)).toBe(true);
    const backup = first.sites['tokyo-1']!.backup as { pollInterval: string };
    expect(() => (backup.pollInterval = '1s')).toThrow(TypeError);
    writeFileSync(file, withChange((d) => (d.sites['tokyo-1'].backup.pollInterval = '7s')));
    const edited = loadConfig(file).config;
    expect(edited).not.toBe(first);
    expect(edited.sites['tokyo-1']!.backup.pollInterval).toBe('7s');
    writeFileSync(file, 'sites: [\n');
    expect(() => loadConfig(file)).toThrow(ConfigError);
  });
});
