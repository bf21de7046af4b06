import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** What the service measures: the process (prom-client's defaults) and every API answer. */
export interface HttpMetrics {
  readonly registry: Registry;
  /** `route` is the route's pattern (`/api/v1/identities/:id`), never the raw URL. */
  observe(route: string, method: string, status: number, seconds: number): void;
  /** An operation of an apply (a route's or a scheduled run's) ended: succeeded, dead, or left pending. */
  readonly operation: (target: string, result: string) => void;
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
  const operations = new Counter({
    name: 'tenure_operations_total',
    help: 'Operations the service applied to targets, by target and result (succeeded, dead, pending)',
    labelNames: ['target', 'result'] as const,
    registers: [registry],
  });
  return {
    registry,
    observe: (route, method, status, seconds) => {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
    operation: (target, result) => operations.inc({ target, result }),
  };
}
