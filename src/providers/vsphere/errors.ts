/** A SOAP fault from vCenter, by its vim25 type: operators search for these names. */
export class VsphereFault extends Error {
  override readonly name: string = 'VsphereFault';
  constructor(readonly faultType: string, message: string, readonly detail: Record<string, unknown> = {}) {
    super(message);
  }
}

export class InvalidLoginError extends VsphereFault {
  override readonly name = 'InvalidLogin';
}
export class NotAuthenticatedError extends VsphereFault {
  override readonly name = 'NotAuthenticated';
}
export class DuplicateNameError extends VsphereFault {
  override readonly name = 'DuplicateName';
}
export class ManagedObjectNotFoundError extends VsphereFault {
  override readonly name = 'ManagedObjectNotFound';
}
export class HostConnectFaultError extends VsphereFault {
  override readonly name: string = 'HostConnectFault';
}
/** The host's certificate is not the one pinned (or none was): carries the thumbprint the host showed. */
export class SslVerifyFaultError extends HostConnectFaultError {
  override readonly name = 'SSLVerifyFault';
  constructor(readonly host: string, readonly thumbprint: string | undefined, detail: Record<string, unknown>) {
    super(
      'SSLVerifyFault',
      thumbprint
        ? `host ${host} presented SSL thumbprint ${thumbprint}, not the one given: check that it is the host you mean, then pin it (--host ${host}=${thumbprint})`
        : `host ${host}: vCenter could not verify its SSL certificate and did not report a thumbprint`,
      detail,
    );
  }
}

/** Turns a fault's type, vCenter's message and its detail into the error an operator can act on. */
export function faultError(type: string, message: string, detail: Record<string, unknown>, context: { host?: string; name?: string; obj?: string } = {}): VsphereFault {
  const said = message ? `: ${message}` : '';
  switch (type) {
    case 'InvalidLogin':
      return new InvalidLoginError(type, `vCenter refused the login${said}: check vcenter.user and vcenter.password`, detail);
    case 'NotAuthenticated':
      return new NotAuthenticatedError(type, `the vCenter session is not (or no longer) logged in${said}`, detail);
    case 'DuplicateName':
      return new DuplicateNameError(type, `an object named ${context.name ?? '(that name)'} already exists in that folder${said}`, detail);
    case 'ManagedObjectNotFound':
      return new ManagedObjectNotFoundError(type, `the object ${context.obj ?? ''} is gone from vCenter's inventory${said}`.replace('  ', ' '), detail);
    case 'SSLVerifyFault':
      return new SslVerifyFaultError(context.host ?? '(host)', typeof detail.thumbprint === 'string' ? detail.thumbprint : undefined, detail);
    case 'HostConnectFault':
      return new HostConnectFaultError(type, `vCenter could not connect to host ${context.host ?? ''}${said}: check that it is up, reachable from vCenter on 443, and that its root password is right`.replace('  ', ' '), detail);
    default:
      return new VsphereFault(type, `vCenter answered ${type}${said}`, detail);
  }
}
