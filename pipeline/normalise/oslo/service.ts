import { baseName } from '../common/source.js';

/**
 * Which OpenStack service and which process wrote a line. The logger alone cannot say: library
 * loggers (oslo_messaging.rpc.server, keystonemiddleware.auth_token, eventlet.wsgi.server) log
 * inside every service. So the service is, in order: the input's `fields.service`; the project of
 * the process (nova-compute.log → nova); the logger's first segment when it is a project; the log
 * directory (/var/log/nova/); else the logger's first segment as it is.
 */

const projects: ReadonlySet<string> = new Set([
  'nova', 'neutron', 'cinder', 'glance', 'keystone', 'heat', 'swift', 'horizon', 'ironic', 'octavia', 'designate', 'barbican',
  'manila', 'placement', 'magnum', 'trove', 'aodh', 'ceilometer', 'gnocchi', 'panko', 'zaqar', 'senlin', 'mistral', 'watcher',
  'masakari', 'cloudkitty', 'blazar', 'zun', 'kuryr', 'tacker', 'vitrage', 'freezer', 'monasca', 'sahara', 'murano', 'karbor',
  'cyborg', 'skyline', 'adjutant', 'ovn', 'networking',
]);

/** devstack's journald units are abbreviations: devstack@n-api.service */
const devstackUnits: Record<string, string> = {
  n: 'nova', q: 'neutron', c: 'cinder', g: 'glance', keystone: 'keystone', h: 'heat', s: 'swift', placement: 'placement', o: 'octavia',
};

/** generic file names that say nothing about the writer */
const genericNames: ReadonlySet<string> = new Set(['syslog', 'messages', 'daemon', 'stdout', 'stderr', 'output', 'console', 'log', 'current', 'user', 'journal', 'journald', 'kern']);

/** `nova-compute.log`, `nova-api.log.1`, `neutron-server.log.2.gz`, `keystone.log-20240101`, `nova-api.log.1.2017-05-16_13:53:08` → the binary */
export function processNameOfPath(path: string | null): string | null {
  const name = baseName(path);
  if (name === null || name === '') return null;
  const m = /^(.+?)\.(?:log|json|txt)(?:[.-].*)?$/i.exec(name);
  const stem = m ? (m[1] as string) : name;
  return genericNames.has(stem.toLowerCase()) ? null : stem;
}

/** the unit or container a wrapper names: `devstack@n-api.service` → n-api, `nova_compute` → nova-compute */
export function processNameOfProgram(program: string | undefined): string | null {
  if (program === undefined || program === '') return null;
  const unit = /^devstack@(.+?)(?:\.service)?$/.exec(program);
  const name = (unit ? (unit[1] as string) : program.replace(/\.service$/, '')).replace(/_/g, '-');
  const last = name.split('/').pop() ?? name;
  return last === '' ? null : last;
}

export function projectOf(name: string | null): string | null {
  if (name === null) return null;
  const lower = name.toLowerCase();
  const first = lower.split(/[-_.]/)[0] ?? lower;
  if (projects.has(first)) return first;
  // wsgi-cinder-api (Sunbeam), devstack n-api
  for (const part of lower.split(/[-_.]/)) if (projects.has(part)) return part;
  return Object.hasOwn(devstackUnits, first) ? (devstackUnits[first] as string) : null;
}

export function serviceNameOf(options: { configured: unknown; processName: string | null; logger: string; path: string | null }): string | null {
  if (typeof options.configured === 'string' && options.configured !== '') return options.configured;
  const byProcess = projectOf(options.processName);
  if (byProcess) return byProcess;
  const loggerRoot = options.logger.split('.')[0] ?? options.logger;
  if (projects.has(loggerRoot)) return loggerRoot;
  const directory = options.path === null ? null : baseName(options.path.replace(/[/\\][^/\\]*$/, ''));
  const byDirectory = directory !== null && projects.has(directory.toLowerCase()) ? directory.toLowerCase() : null;
  return byDirectory ?? (loggerRoot === '' ? null : loggerRoot);
}
