/** The server's host key is not the one pinned in the config: maybe a different server, maybe an attack. */
export class FingerprintMismatchError extends Error {
  override readonly name = 'FingerprintMismatch';
  constructor(readonly host: string, readonly port: number, readonly expected: string, readonly actual: string, readonly keyType: string) {
    super(
      `SFTP host key of ${host}:${port} does not match the pinned fingerprint: expected ${expected}, ` +
        `server offered ${actual} (${keyType}). If the server was legitimately re-keyed, check the new key out of band ` +
        `(ssh-keyscan -t ecdsa -p ${port} ${host} | ssh-keygen -lf -) and update backupTarget.hostKeyFingerprint.`,
    );
  }
}

export class SftpAuthError extends Error {
  override readonly name = 'SftpAuthenticationFailed';
  constructor(host: string, user: string) {
    super(`SFTP server ${host} refused the login of user ${user}: check backupTarget.user and the password/privateKey reference`);
  }
}

export class SftpUnreachableError extends Error {
  override readonly name = 'SftpUnreachable';
  constructor(host: string, port: number, reason: string) {
    super(`cannot reach SFTP server ${host}:${port}: ${reason}`);
  }
}

export class TargetDirectoryError extends Error {
  override readonly name = 'TargetDirectoryUnusable';
}
