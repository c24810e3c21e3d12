import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/**
 * NSX for vSphere 6.4 appliance-management XML (shared/api/nsx.md), built and parsed with
 * fast-xml-parser. Builders write elements in the order the API documents: keep it.
 */
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false, // "0022" stays a string; numbers are read where they are numbers
  isArray: (name) => ['backupFileProperties', 'edgeSummary', 'virtualWire', 'section', 'rule', 'source', 'destination', 'service'].includes(name),
});

export function parseXml(text: string): Record<string, any> {
  return parser.parse(text) as Record<string, any>;
}

export function buildXml(root: string, body: Record<string, unknown>): string {
  return builder.build({ [root]: body }) as string;
}

/** `<ftpSettings>` in the documented element order. */
export interface FtpSettings {
  transferProtocol: 'SFTP' | 'FTP';
  hostNameIPAddress: string;
  port: number;
  userName: string;
  password?: string;
  backupDirectory: string;
  filenamePrefix: string;
  passPhrase?: string;
  passiveMode: boolean;
  useEPRT: boolean;
  useEPSV: boolean;
}

export const FTP_SETTINGS_ORDER = ['transferProtocol', 'hostNameIPAddress', 'port', 'userName', 'password', 'backupDirectory', 'filenamePrefix', 'passPhrase', 'passiveMode', 'useEPRT', 'useEPSV'] as const;

export function ftpSettingsXml(s: FtpSettings): string {
  const body: Record<string, unknown> = {};
  for (const k of FTP_SETTINGS_ORDER) if (s[k] !== undefined) body[k] = String(s[k]);
  return buildXml('ftpSettings', body);
}

/** What a GET of the settings says (the password and passphrase are never returned). */
export function parseFtpSettings(node: Record<string, any> | undefined): Partial<FtpSettings> | undefined {
  if (!node || typeof node !== 'object') return undefined;
  return {
    transferProtocol: node.transferProtocol,
    hostNameIPAddress: node.hostNameIPAddress,
    port: node.port !== undefined ? Number(node.port) : undefined,
    userName: node.userName,
    backupDirectory: node.backupDirectory,
    filenamePrefix: node.filenamePrefix,
    passiveMode: node.passiveMode === undefined ? undefined : String(node.passiveMode) === 'true',
    useEPRT: node.useEPRT === undefined ? undefined : String(node.useEPRT) === 'true',
    useEPSV: node.useEPSV === undefined ? undefined : String(node.useEPSV) === 'true',
  };
}

export interface BackupFileProperties {
  fileName: string;
  fileSize: number;
  creationTime: number;
}

export function parseBackupList(text: string): BackupFileProperties[] {
  const list = parseXml(text).list;
  return ((list && typeof list === 'object' ? list.backupFileProperties : undefined) ?? []).map((b: Record<string, string>) => ({
    fileName: String(b.fileName),
    fileSize: Number(b.fileSize),
    creationTime: Number(b.creationTime),
  }));
}

export function backupListXml(files: BackupFileProperties[]): string {
  return buildXml('list', { backupFileProperties: files.map((f) => ({ fileName: f.fileName, fileSize: String(f.fileSize), creationTime: String(f.creationTime) })) });
}

/** `<error><details/><errorCode/><moduleName/></error>` → "details (errorCode N)". */
export function errorText(text: string): string | undefined {
  try {
    const e = parseXml(text).error;
    if (!e) return undefined;
    return `${e.details ?? 'no details'}${e.errorCode !== undefined ? ` (errorCode ${e.errorCode})` : ''}`;
  } catch {
    return undefined;
  }
}

export function errorXml(details: string, errorCode: number, moduleName = 'core-services'): string {
  return buildXml('error', { details, errorCode: String(errorCode), moduleName });
}
