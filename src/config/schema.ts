import { z } from 'zod';
import { DEFAULT_NEW_CLUSTER } from '../domain/ha-admission.js';
import { SECRET_REF_RE } from './secrets.js';
import { parseDuration } from '../domain/duration.js';
import { cronProblem, timezoneProblem } from '../schedules/validate.js';
import { hostPortProblem, webUrlProblem } from './formats.js';

/** A string checked by one of the shared format rules (formats.ts), with its words. */
const formatted = (problem: (v: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

const secretRef = z
  .string()
  .regex(SECRET_REF_RE, {
    error: 'must be a secret reference, env:NAME or file:PATH — never the secret itself',
  })
  .describe('Secret reference: env:NAME (environment variable on the worker) or file:PATH (file on the worker)');

/** Ten years: any longer is a slip of the keyboard (99999999d), and would overflow the timeouts and timers made from it. */
const MAX_DURATION_MS = 3650 * 86_400_000;
const durationMs = (v: string) => {
  try {
    return parseDuration(v);
  } catch {
    return undefined;
  }
};

const duration = z
  .string()
  .refine((v) => (durationMs(v) ?? 0) > 0, { error: 'must be a duration such as 30s, 5m, 2h or 1h30m' })
  .refine((v) => (durationMs(v) ?? 0) <= MAX_DURATION_MS, { error: 'must be at most 3650d (ten years)' })
  .describe('Duration: 30s, 5m, 2h, 1d, 1h30m (at most 3650d)');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** HTTPS for products; plain HTTP only for a lab on this machine. */
const productUrl = z
  .string()
  .url({ error: 'must be a URL such as https://nsx.example.com' })
  .refine((v) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return true; // not a URL at all: the check above says so, with the key
    }
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  }, { error: 'must use https:// (plain http:// is accepted only for a lab on 127.0.0.1 or localhost)' });

export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A certificate's SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it (any case). */
export const CERT_FINGERPRINT_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$/;
const CERT_FINGERPRINT_ERROR = 'must be a certificate\'s SHA-256 fingerprint, 32 hex pairs separated by colons (openssl x509 -noout -fingerprint -sha256 -in CERT), or a list of them';
const certFingerprint = z.string().regex(CERT_FINGERPRINT_RE, { error: CERT_FINGERPRINT_ERROR });

/** How an endpoint's certificate is checked, beside its caFile: an explicit opt-out, and an optional pin. */
const tlsChecks = {
  insecure: z
    .boolean()
    .optional()
    .describe(
      'true: do not check this endpoint\'s certificate (CA, validity, host name). Explicit only, never a default: every request logs a warning naming the endpoint, and backup sets made meanwhile record it (insecureEndpoints). With certFingerprint, the pin alone decides',
    ),
  certFingerprint: z
    .union([certFingerprint, z.array(certFingerprint).min(1, { error: 'an empty list pins nothing: give at least one fingerprint, or leave certFingerprint out' })], { error: CERT_FINGERPRINT_ERROR })
    .optional()
    .describe(
      'Pin: the SHA-256 fingerprint of the endpoint\'s certificate, "AB:CD:…" (32 hex pairs, any case), as `openssl s_client -connect HOST:443 </dev/null | openssl x509 -noout -fingerprint -sha256` prints it; or a list (any one matches, e.g. during a renewal). Checked as well as the CA',
    ),
};

export const vcenterSchema = z
  .strictObject({
    url: productUrl.describe('Appliance (VAMI) API base, e.g. https://vcsa.example.com'),
    user: z.string().min(1).describe('SSO user allowed to run appliance backups'),
    password: secretRef,
    backupPassword: secretRef.describe(
      'Encrypts the file-based backup and is needed to restore it. Required: an unencrypted backup holds the SSO signing keys.',
    ),
    parts: z.array(z.enum(['common', 'seat'])).min(1).default(['common', 'seat'])
      .describe('common = inventory and configuration; seat = stats, events and tasks'),
    caFile: z.string().optional().describe('PEM file of the CA that signed the appliance certificate, when it is not publicly trusted'),
    ...tlsChecks,
  })
  .describe('vCenter Server appliance');

export const nsxSchema = z
  .strictObject({
    url: productUrl.describe('NSX Manager (or cluster VIP) base URL'),
    flavor: z
      .enum(['nsx-t', 'nsx-v'], { error: 'must be nsx-t (NSX-T 3.x / NSX 4.x, JSON API) or nsx-v (NSX for vSphere 6.4, XML appliance-management API)' })
      .default('nsx-t')
      .describe('nsx-t: NSX-T 3.x / NSX 4.x; nsx-v: NSX for vSphere 6.4 (ESG, DLR, VXLAN)'),
    user: z.string().min(1),
    password: secretRef,
    backupPassphrase: secretRef.describe('Encrypts NSX backups; without it a backup cannot be restored. Keep it safe.'),
    caFile: z.string().optional().describe('PEM file of the CA that signed the manager certificate'),
    ...tlsChecks,
  })
  .describe('NSX Manager');

export const retentionSchema = z
  .strictObject({
    keepLast: z.number().int().min(1).optional().describe('Keep the newest N complete sets'),
    daily: z.number().int().min(1).optional().describe('Keep the newest complete set of each of the last N days that have one'),
    weekly: z.number().int().min(1).optional().describe('... of each of the last N ISO weeks'),
    monthly: z.number().int().min(1).optional().describe('... of each of the last N months'),
    maxAge: duration.optional().describe('Expire sets older than this, whatever the rules above say (the newest complete set always stays)'),
  })
  .describe('Which backup sets to keep on this target; without it nothing is ever deleted');

export const backupTargetSchema = z
  .strictObject({
    host: z.string().min(1).describe('SFTP server host name or IP, as NSX Manager and vCenter reach it'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    password: secretRef.optional().describe('SFTP password (NSX and vCenter authenticate with a password)'),
    privateKey: secretRef.optional().describe('Private key this tool uses for its own SFTP checks, instead of the password'),
    directory: z
      .string()
      .regex(/^\/[\w\-.+~/]+$/, { error: 'must be an absolute path of letters, digits and - . + ~ _ / (NSX accepts no other characters)' })
      .refine((v) => !v.split('/').some((seg) => seg === '.' || seg === '..'), { error: 'must not have . or .. segments: name the directory itself' })
      .describe('Absolute directory on the SFTP server; it must exist and be writable'),
    hostKeyFingerprint: z
      .string()
      .regex(FINGERPRINT_RE, {
        error: 'must be the SHA-256 fingerprint of the server\'s ECDSA host key, "SHA256:" + 43 base64 characters (ssh-keyscan -t ecdsa HOST | ssh-keygen -lf -)',
      })
      .describe('Pinned ECDSA host key fingerprint, as `ssh-keyscan -t ecdsa HOST | ssh-keygen -lf -` prints it'),
    retention: retentionSchema.optional(),
  })
  .refine((t) => t.password !== undefined, {
    error: 'a password reference is required: NSX Manager and vCenter log in to the SFTP server with a password',
    path: ['password'],
  })
  .describe('SFTP backup target shared by NSX and vCenter');

export const contactSchema = z.strictObject({
  name: z.string().min(1).describe('Who this is, as messages address them'),
  webhook: z.string().min(1).describe('Name of a webhook under notifications.webhooks'),
});

export const iksClusterSchema = z.strictObject({
  id: z.string().min(1).describe('IKS cluster id (or name)'),
  name: z.string().min(1).optional(),
  resourceGroup: z.string().optional().describe('Sent as X-Auth-Resource-Group'),
  appOwners: z.array(contactSchema).default([]).describe('Told that application data is theirs to back up; asked to confirm'),
  escalation: z.array(contactSchema).default([]).describe('Told when the app owners have not confirmed after appData.escalateAfter'),
  appData: z
    .strictObject({
      namespaces: z.array(z.string()).default([]),
      volumes: z.array(z.string()).default([]).describe('Persistent volume claims, e.g. shop/pvc-orders'),
    })
    .default({ namespaces: [], volumes: [] })
    .describe('The application data the owners must back up'),
});

export const backupPolicySchema = z
  .strictObject({
    pollInterval: duration
      .refine((v) => (durationMs(v) ?? 1000) >= 1000, { error: 'must be at least 1s: the products are asked this often, and each ask is a login' })
      .default('10s')
      .describe('How often to ask the products for job status (at least 1s)'),
    timeout: duration.default('4h').describe('Give up on a backup job that has not finished after this long'),
  })
  .superRefine((b, ctx) => {
    const [poll, timeout] = [durationMs(b.pollInterval), durationMs(b.timeout)];
    if (poll !== undefined && timeout !== undefined && timeout < poll) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be at least pollInterval (${b.pollInterval}): a backup could never be asked about twice` });
    }
  })
  .describe('How a coordinated backup waits');

/** A schedule's note, shown with it (also `schedule pause|unpause --note`). */
export const scheduleNote = z.string().max(1000, { error: 'at most 1000 characters' });

export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all'] as const;

export const scheduleSchema = z
  .strictObject({
    purpose: z
      .enum(['backup', 'appdata', 'drill', 'watchdog'])
      .default('backup')
      .describe('What the schedule runs: backup = a coordinated backup of the site; appdata = the app-data reminders of its IKS clusters; drill = a restore drill of the newest set into the sandbox; watchdog = the backup-health check of alerts (made for you from alerts.checkEvery when not listed)'),
    every: duration.optional().describe('Instead of cron: run at this fixed interval, e.g. 1h (NSX backups are usually hourly)'),
    cron: z.string().min(1).optional().superRefine((v, ctx) => {
      const p = v === undefined ? undefined : cronProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }).describe('Five-field cron: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"'),
    timezone: z.string().default('UTC').superRefine((v, ctx) => {
      const p = timezoneProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }).describe('IANA time zone, e.g. Asia/Tokyo'),
    jitter: duration.optional().describe('Random delay added to each run'),
    overlap: z.enum(OVERLAP_POLICIES).default('skip').describe('What to do when a run is due while the previous one still runs'),
    catchup: duration.optional().describe('How late a missed run (server down) may still start'),
    pauseOnFailure: z.boolean().default(false),
    note: scheduleNote.optional(),
  })
  .refine((x) => (x.cron === undefined) !== (x.every === undefined), { error: 'give either cron or every (not both, not neither)' })
  .describe('A durable Temporal Schedule, reconciled by `sddc-ops schedule apply`');

const sandboxEndpoint = (what: string) =>
  z
    .strictObject({
      url: productUrl.describe(`The sandbox ${what}'s base URL: an appliance deployed (in restore mode) on an isolated network for drills`),
      user: z.string().min(1).optional().describe("Default: the site's"),
      password: secretRef.optional().describe("Default: the site's"),
      caFile: z.string().optional().describe("Default: the site's"),
      ...tlsChecks,
    })
    .describe(`Sandbox ${what} a drill restores into`);

export const drillSchema = z
  .strictObject({
    sandbox: z.strictObject({
      vcenter: sandboxEndpoint('vCenter appliance'),
      nsx: sandboxEndpoint('NSX Manager'),
      redeploy: z
        .strictObject({
          url: secretRef.describe('Your automation\'s hook (vRO, Ansible, Terraform…): POSTed {site, drillRun, setId} before each drill; a 2xx answer means both sandbox appliances are freshly deployed'),
          timeout: duration.default('30m').describe('How long a redeploy may take'),
          caFile: z.string().optional(),
          ...tlsChecks,
        })
        .optional()
        .describe('Without it, the sandbox appliances must be redeployed by hand before each drill (a drill refuses appliances that already hold a restore)'),
    }),
    notify: z.array(contactSchema).default([]).describe('Told when a drill fails (what differs, or why the restore failed)'),
  })
  .describe('Restore drills (`sddc-ops restore drill`, or a schedule with purpose drill): restore the newest set into the sandbox and compare it with what the backup captured');

export const alertsSchema = z
  .strictObject({
    notify: z.array(contactSchema).min(1, { error: 'name at least one contact (a webhook under notifications.webhooks)' }).describe('Told when a backup run fails, is cancelled or is abandoned, and when no good set is recent enough'),
    maxAgeWithoutGoodSet: duration
      .optional()
      .describe('Alert when the newest complete, verified set is older than this (e.g. 26h for a nightly schedule): the backup that silently stopped running. Needs the watchdog schedule (`schedule apply` makes it)'),
    checkEvery: duration.default('1h').describe('How often the watchdog looks (its schedule)'),
  })
  .describe('Alerts about this site\'s backups');

export const SITE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const siteSchema = z.strictObject({
  vcenter: vcenterSchema,
  nsx: nsxSchema,
  backupTarget: backupTargetSchema,
  iksClusters: z.array(iksClusterSchema).default([]).describe('Linked IBM Cloud Kubernetes Service clusters'),
  backup: backupPolicySchema.default({ pollInterval: '10s', timeout: '4h' }),
  appData: z
    .strictObject({
      runWithBackup: z.boolean().default(true).describe('Start the app-data reminder for each linked cluster after every coordinated backup'),
      remindEvery: duration.default('24h').describe('Re-notify the app owners this often until they confirm'),
      escalateAfter: duration.default('72h').describe('Then also notify the escalation contacts'),
      maxAgeBeforeChange: duration.default('7d').describe('An IKS scale-out goes on without an approval only if the owners acknowledged their app-data backups this recently'),
    })
    .default({ runWithBackup: true, remindEvery: '24h', escalateAfter: '72h', maxAgeBeforeChange: '7d' }),
  schedules: z.array(scheduleSchema).default([]).refine((l) => new Set(l.map((x) => x.purpose)).size === l.length, {
    error: 'one schedule per purpose per site',
  }),
  capacity: z
    .discriminatedUnion('provider', [
      z.strictObject({ provider: z.literal('vcenter-direct').describe('Hosts are racked and installed; sddc-ops joins them to vCenter over SOAP') }),
      z.strictObject({
        provider: z.literal('ibm-vmware-solutions').describe('Capacity is ordered from IBM Cloud for VMware Solutions; IBM\'s automation joins the hosts'),
        instanceId: z.string().min(1).describe('The vCenter Server instance id (GET /v1/vcenters)'),
      }),
    ])
    .default({ provider: 'vcenter-direct' })
    .describe('Where new capacity comes from'),
  drill: drillSchema.optional(),
  alerts: alertsSchema.optional(),
  scaleOut: z
    .strictObject({
      hostUser: z.string().min(1).default('root').describe('User vCenter logs in to new ESXi hosts with'),
      hostPassword: secretRef.describe('Password of that user on the new hosts'),
      newCluster: z
        .strictObject({
          haEnabled: z.boolean().default(true),
          hostFailuresToTolerate: z.number().int().min(0).max(31).default(1).describe('HA reserves ceil(100 × this ÷ hosts) % of CPU and memory'),
          drsEnabled: z.boolean().default(true),
          drsBehavior: z.enum(['manual', 'partiallyAutomated', 'fullyAutomated']).default('fullyAutomated'),
        })
        .default({ ...DEFAULT_NEW_CLUSTER })
        .describe('HA and DRS settings of clusters that `scale-out add-cluster` creates'),
    })
    .optional()
    .describe('Scale-out on this site\'s vCenter (new hosts, new clusters); the vCenter login is vcenter.user / vcenter.password over SOAP (/sdk)'),
});

const payloadKeyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'key ids are letters, digits, ".", "_" and "-" (at most 64)' });

export const encryptionSchema = z
  .union([
    z.literal('off').describe('Payloads go to Temporal in clear: workflow inputs, results, failure messages and summaries are readable in its database'),
    z
      .strictObject({
        currentKey: payloadKeyId.describe('The key id new payloads are encrypted with'),
        keys: z
          .record(payloadKeyId, secretRef)
          .describe('Every key that may have written a history you still keep, by id: each a reference to 32 random bytes in base64 (openssl rand -base64 32)'),
      })
      .refine((x) => Object.hasOwn(x.keys, x.currentKey), { error: 'currentKey must be one of the ids under keys', path: ['currentKey'] }),
  ])
  .describe('Payload encryption (AES-256-GCM) of everything sddc-ops stores in Temporal; on unless set to off. Rotation: docs/security.md');

export const temporalSchema = z
  .strictObject({
    address: formatted(hostPortProblem).optional().describe('host:port of the Temporal frontend (overrides profile and TEMPORAL_ADDRESS)'),
    namespace: z.string().min(1).optional(),
    taskQueue: z.string().min(1, { error: 'must name a task queue (default sddc-ops)' }).default('sddc-ops'),
    uiUrl: formatted(webUrlProblem).optional().describe('Base URL of the Temporal Web UI, for links printed by the CLI'),
    encryption: encryptionSchema.optional(),
  })
  .describe('Where the CLI and worker find Temporal');

export const ibmCloudSchema = z
  .strictObject({
    apiKey: secretRef.describe('IBM Cloud API key, exchanged for IAM tokens'),
    iamUrl: productUrl.default('https://iam.cloud.ibm.com'),
    iksUrl: productUrl.default('https://containers.cloud.ibm.com/global'),
    caFile: z.string().optional().describe('PEM file of a CA to trust instead of the public ones, for the IAM, IKS and VMware Solutions URLs alike'),
    ...tlsChecks,
    etcdBackupPolicy: z
      .string()
      .default('Backups of the etcd database are provided as part of the IBM Cloud Kubernetes Service managed service; all application data must be backed up by the customer.')
      .describe('The provider\'s stated etcd backup policy, recorded with every backup set'),
    vmwareSolutionsUrl: productUrl.default('https://api.vmware-solutions.cloud.ibm.com').describe('IBM Cloud for VMware Solutions API (sites with capacity ibm-vmware-solutions)'),
    orders: z
      .strictObject({
        timeout: duration.default('12h').describe('How long a VMware Solutions order may take (orders take hours)'),
        pollInterval: duration.default('5m').describe('How often the instance is looked at meanwhile'),
      })
      .default({ timeout: '12h', pollInterval: '5m' }),
    workerPool: z
      .strictObject({
        timeout: duration.default('90m').describe('How long a worker-pool resize or zone change may take to settle (IBM\'s Terraform provider waits up to 90 minutes)'),
        pollInterval: duration.default('30s').describe('How often the pool is looked at meanwhile'),
      })
      .default({ timeout: '90m', pollInterval: '30s' }),
  })
  .describe('IBM Cloud access for IKS');

export const webhookSchema = z.strictObject({
  url: secretRef.describe('Webhook URL (it usually embeds a token, so it is a secret reference)'),
  format: z.enum(['slack', 'json']).default('json').describe('slack = Slack-compatible {text, blocks}; json = generic JSON'),
  caFile: z.string().optional().describe('PEM file of the CA that signed the receiver\'s certificate, when it is not publicly trusted'),
  ...tlsChecks,
  timeout: duration.default('15s').describe('How long to wait for the receiver to answer one message'),
});

export const notificationsSchema = z
  .strictObject({ webhooks: z.record(z.string(), webhookSchema).default({}) })
  .describe('Where notifications go');

export const configSchema = z.strictObject({
  temporal: temporalSchema.default({ taskQueue: 'sddc-ops' }),
  ibmCloud: ibmCloudSchema.optional(),
  notifications: notificationsSchema.default({ webhooks: {} }),
  sites: z
    .record(z.string().regex(SITE_NAME_RE, { error: 'site names are lower-case letters, digits and -' }), siteSchema)
    .refine((s) => Object.keys(s).length > 0, { error: 'define at least one site' }),
}).superRefine((c, ctx) => {
  for (const [site, sc] of Object.entries(c.sites)) {
    if (sc.iksClusters.length && !c.ibmCloud) {
      ctx.addIssue({ code: 'custom', path: ['ibmCloud'], message: `required: site ${site} links IKS clusters; add ibmCloud.apiKey` });
    }
    if (sc.capacity.provider === 'ibm-vmware-solutions' && !c.ibmCloud) {
      ctx.addIssue({ code: 'custom', path: ['ibmCloud'], message: `required: site ${site} orders its capacity from IBM Cloud for VMware Solutions; add ibmCloud.apiKey` });
    }
    if (sc.schedules.some((x) => x.purpose === 'drill') && !sc.drill) {
      ctx.addIssue({ code: 'custom', path: ['sites', site, 'drill'], message: `required: site ${site} schedules drills; say where they restore to (drill.sandbox)` });
    }
    if (sc.schedules.some((x) => x.purpose === 'watchdog') && !sc.alerts) {
      ctx.addIssue({ code: 'custom', path: ['sites', site, 'alerts'], message: `required: site ${site} schedules a watchdog; say whom it alerts (alerts.notify)` });
    }
    sc.alerts?.notify.forEach((contact, j) => {
      if (!c.notifications.webhooks[contact.webhook]) {
        ctx.addIssue({ code: 'custom', path: ['sites', site, 'alerts', 'notify', j, 'webhook'], message: `no webhook "${contact.webhook}" under notifications.webhooks` });
      }
    });
    sc.drill?.notify.forEach((contact, j) => {
      if (!c.notifications.webhooks[contact.webhook]) {
        ctx.addIssue({ code: 'custom', path: ['sites', site, 'drill', 'notify', j, 'webhook'], message: `no webhook "${contact.webhook}" under notifications.webhooks` });
      }
    });
    sc.iksClusters.forEach((cl, i) => {
      for (const kind of ['appOwners', 'escalation'] as const) {
        cl[kind].forEach((contact, j) => {
          if (!c.notifications.webhooks[contact.webhook]) {
            ctx.addIssue({ code: 'custom', path: ['sites', site, 'iksClusters', i, kind, j, 'webhook'], message: `no webhook "${contact.webhook}" under notifications.webhooks` });
          }
        });
      }
    });
  }
});

export type Config = z.infer<typeof configSchema>;
export type SiteConfig = z.infer<typeof siteSchema>;
export type VcenterConfig = z.infer<typeof vcenterSchema>;
export type NsxConfig = z.infer<typeof nsxSchema>;
export type BackupTarget = z.infer<typeof backupTargetSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
export type IbmCloudConfig = z.infer<typeof ibmCloudSchema>;
export type IksClusterConfig = z.infer<typeof iksClusterSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type ContactConfig = z.infer<typeof contactSchema>;
export type DrillConfig = z.infer<typeof drillSchema>;
export type AlertsConfig = z.infer<typeof alertsSchema>;
