/**
 * Prometheus metrics (prom-client), one registry per service, names `duet_<component>_<what>_<unit>`.
 * `metricName` enforces the scheme; `serveMetrics` exposes a registry on its own HTTP port for
 * services without an HTTP server of their own (workers, router).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

const NAME = /^[a-z][a-z0-9_]*$/;

/** `duet_<component>_<what>_<unit>`; throws on a part that breaks the scheme. */
export function metricName(component: string, what: string, unit: string): string {
  for (const [k, v] of Object.entries({ component, what, unit })) {
    if (!NAME.test(v)) throw new RangeError(`metric ${k} "${v}" must be lower_snake_case`);
  }
  return `duet_${component}_${what}_${unit}`;
}

export function createRegistry(component: string, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: `duet_${component}_process_` });
  return registry;
}

/** Serves `GET /metrics` on 127.0.0.1:port (0 = ephemeral); resolves with the bound port. */
export function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : port, server });
    });
  });
}
