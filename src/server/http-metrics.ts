import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** What the service measures: the process (prom-client's defaults) and every API answer. */
export interface HttpMetrics {
  readonly registry: Registry;
  /** `route` is the route's pattern (`/api/v1/identities/:id`), never the raw URL. */
  observe(route: string, method: string, status: number, seconds: number): void;
}

/** A registry of its own per server, so two servers in one process (tests) never share counts. */
export function httpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'tenure_api_requests_total',
    help: 'API requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tenure_api_request_duration_seconds',
    help: 'Time to answer an API request, by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    observe: (route, method, status, seconds) => {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
  };
}
