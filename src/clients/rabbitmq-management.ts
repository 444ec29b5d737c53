/**
 * The RabbitMQ management HTTP API as `diagnose` and `tune --live` call it: the base URL and the
 * Basic header from a URL with credentials, and the vhost of the AMQP URL the queues live in.
 */

/** `http://user:pass@host:port` → the base URL without credentials plus a Basic header. */
export function managementRequest(url: string): { base: string; headers: Record<string, string> } {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (user) headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  return { base: u.toString().replace(/\/+$/, ''), headers };
}

/** The vhost of an AMQP URL (`amqp://u:p@h:5672/%2F` → `/`); RabbitMQ's default is `/`. */
export function vhostOf(amqpUrl: string): string {
  try {
    const path = new URL(amqpUrl).pathname.replace(/^\//, '');
    return path === '' ? '/' : decodeURIComponent(path);
  } catch {
    return '/';
  }
}
