/**
 * Format rules that the config schema and the CLI's flags share: each returns what is wrong, or
 * undefined. No zod here, so that a command checks its flags without loading the schema.
 */

/** host:port — a host name, IPv4 address or [IPv6] address, and a port 1-65535 (Temporal's frontend, a metrics listener). */
export function hostPortProblem(v: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return 'expected host:port, such as 127.0.0.1:7233 or temporal.example.com:7233 (port 1-65535)';
  return undefined;
}

/** An http(s) URL a person opens (the Temporal Web UI). */
export function webUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'expected a URL such as http://127.0.0.1:8233';
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'expected an http:// or https:// URL, such as http://127.0.0.1:8233';
}
