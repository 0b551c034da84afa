import type { ServicesConfig } from '../config/types.js';
import { TallyError } from '../errors.js';
import { serviceLiveness, type OwnedService } from './process.js';
import type { ServicesState } from './state.js';

export type ServiceName = 'kafka' | 'elasticsearch' | 'registry';

/** A service process (or cluster) this checkout started and still runs, wherever it listens. */
export interface ServiceInstance {
  endpoint: string;
  /** the setting each port came from (services.<name>.<key>) and the port */
  ports: Record<string, number>;
  pid: number;
  startedAt: string;
  /** 'all' its processes run, or 'some' (a cluster missing nodes) */
  running: 'all' | 'some';
  /** it listens on the ports the configuration names now */
  configured: boolean;
}

type Recorded = OwnedService & { startedAt: string };

/** The ports a recorded instance listens on and those the configuration asks for, by setting name. */
function portsOf(name: ServiceName, state: ServicesState, config: ServicesConfig): { endpoint: string; had: Record<string, number>; wanted: Record<string, number>; owned: Recorded } | undefined {
  if (name === 'kafka' && state.kafka) {
    const k = state.kafka;
    return { endpoint: k.bootstrap, owned: k, had: { port: k.port, controllerPort: k.controllerPort }, wanted: { port: config.kafka.port, controllerPort: config.kafka.controllerPort } };
  }
  if (name === 'elasticsearch' && state.elasticsearch) {
    const e = state.elasticsearch;
    return { endpoint: e.url, owned: e, had: { httpPort: e.httpPort, transportPort: e.transportPort }, wanted: { httpPort: config.elasticsearch.httpPort, transportPort: config.elasticsearch.transportPort } };
  }
  if (name === 'registry' && state.registry) {
    const r = state.registry;
    return { endpoint: r.url, owned: r, had: { port: r.port, managementPort: r.managementPort }, wanted: { port: config.registry.port, managementPort: config.registry.managementPort } };
  }
  return undefined;
}

/** The running instance of a service that `.tally/run/services.json` records, if any. */
export function runningInstance(name: ServiceName, state: ServicesState, config: ServicesConfig): ServiceInstance | undefined {
  const recorded = portsOf(name, state, config);
  if (!recorded) return undefined;
  const running = serviceLiveness(recorded.owned);
  if (running === 'none') return undefined;
  const configured = Object.entries(recorded.wanted).every(([key, port]) => recorded.had[key] === port);
  return { endpoint: recorded.endpoint, ports: recorded.had, pid: recorded.owned.pid, startedAt: recorded.owned.startedAt, running, configured };
}

const serviceTitle: Record<ServiceName, string> = { kafka: 'Kafka', elasticsearch: 'Elasticsearch', registry: 'Schema Registry' };
const describePorts = (name: ServiceName, ports: Record<string, number>): string =>
  Object.entries(ports)
    .map(([key, port]) => `services.${name}.${key} ${port}`)
    .join(', ');

/**
 * One checkout runs one instance of each service (one run folder, one entry in services.json): a
 * start never reuses, nor starts beside, an instance on other ports than the configured ones.
 */
export function assertConfiguredInstance(name: ServiceName, state: ServicesState, config: ServicesConfig): void {
  const instance = runningInstance(name, state, config);
  if (!instance || instance.configured) return;
  const wanted = portsOf(name, state, config)?.wanted ?? {};
  throw new TallyError(
    'SERVICE_CONFLICT',
    `the local ${serviceTitle[name]} of this checkout runs at ${instance.endpoint} (${describePorts(name, instance.ports)}; pid ${instance.pid}, started ${instance.startedAt}), but the configuration asks for ${describePorts(name, wanted)}; ` +
      `a checkout runs one ${serviceTitle[name]}: stop that one first with \`tally services stop ${name}\`, or configure its ports again`,
    { details: { service: name, running: instance, configured: wanted } },
  );
}
