import { Command } from 'commander';
import { fetchServiceArtifacts, restartService, serviceNames, servicesStatus, startServices, stopServices, type ServiceName, type ServiceStatus } from '../../../pipeline/services/index.js';
import { TallyError } from '../../../pipeline/errors.js';
import { contextFrom } from '../context.js';

function parseNames(names: string[]): ServiceName[] {
  if (names.length === 0) return serviceNames;
  for (const name of names) {
    if (!serviceNames.includes(name as ServiceName)) throw new TallyError('USAGE', `unknown service "${name}"; expected one of ${serviceNames.join(', ')}`);
  }
  return names as ServiceName[];
}

function printStatuses(statuses: ServiceStatus[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ services: statuses }, null, 2)}\n`);
    return;
  }
  for (const s of statuses) {
    const facts = [s.mode, s.up ? 'up' : 'down', s.endpoint, s.version && `version ${s.version}`, s.pid && `pid ${s.pid}`, s.reused && 'reused'].filter(Boolean).join(', ');
    process.stdout.write(`${s.name.padEnd(14)} ${facts}\n`);
    if ((s.brokers?.length ?? 0) > 1) {
      for (const b of s.brokers ?? []) {
        const role = b.activeController ? 'active controller' : b.voter ? 'voter' : 'broker only';
        process.stdout.write(`${''.padEnd(14)} node ${b.nodeId} ${b.up ? 'up' : 'down'} ${b.endpoint}${b.controllerPort ? ` (controller ${b.controllerPort})` : ''}, ${role}, pid ${b.pid}\n`);
      }
    }
    for (const i of (s.instances ?? []).filter((instance) => !instance.configured)) {
      const ports = Object.entries(i.ports).map(([key, port]) => `${key} ${port}`).join(', ');
      process.stdout.write(`${''.padEnd(14)} this checkout's ${s.name} runs at ${i.endpoint} (${ports}), pid ${i.pid}: not the configured ports; stop it with \`tally services stop ${s.name}\`\n`);
    }
    if (s.capabilities) {
      const caps = Object.entries(s.capabilities).map(([k, v]) => `${k}=${v ? 'yes' : 'no'}`).join(' ');
      process.stdout.write(`${''.padEnd(14)} capabilities: ${caps}\n${''.padEnd(14)} modules: ${(s.modules ?? []).join(', ')}\n`);
    }
  }
}

export function servicesCommand(): Command {
  const services = new Command('services').description('local Kafka (KRaft) and Elasticsearch from Maven Central, run from this checkout');
  services
    .command('start')
    .description('download once, start what is not running, wait until ready (idempotent)')
    .argument('[names...]', `any of ${serviceNames.join(', ')}`)
    .option('--json', 'print machine-readable status')
    .action(async (names: string[], options: { json?: boolean }, command: Command) => {
      const { config } = contextFrom(command);
      printStatuses(await startServices(config, parseNames(names)), options.json === true);
    });
  services
    .command('stop')
    .description('stop only the services this checkout started, by pid, and remove their per-run data')
    .argument('[names...]', `any of ${serviceNames.join(', ')}`)
    .option('--keep-data', 'keep the data folders so the next start resumes on them')
    .option('--json', 'print machine-readable result')
    .action(async (names: string[], options: { keepData?: boolean; json?: boolean }, command: Command) => {
      const { config } = contextFrom(command);
      const stopped = await stopServices(config, parseNames(names), { keepData: options.keepData === true });
      if (options.json) process.stdout.write(`${JSON.stringify({ stopped })}\n`);
      else process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'nothing of ours was running\n');
    });
  services
    .command('restart')
    .description('stop and start one service on the same data')
    .argument('<name>', serviceNames.join(' | '))
    .option('--json', 'print machine-readable status')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { config } = contextFrom(command);
      const [service] = parseNames([name]);
      printStatuses([await restartService(config, service as ServiceName)], options.json === true);
    });
  services
    .command('fetch')
    .description('download the Kafka and Elasticsearch artifacts into the cache without starting anything')
    .action(async (_options: unknown, command: Command) => {
      const { config } = contextFrom(command);
      const fetched = await fetchServiceArtifacts(config);
      process.stdout.write(`${fetched.map((f) => `${f.name.padEnd(14)} ${f.path}`).join('\n')}\n`);
    });
  services
    .command('status')
    .description('endpoints, versions, pids and Elasticsearch modules; exit 1 if any is down')
    .option('--json', 'print machine-readable status')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { config } = contextFrom(command);
      const statuses = await servicesStatus(config);
      printStatuses(statuses, options.json === true);
      if (statuses.some((s) => !s.up)) process.exitCode = 1;
    });
  return services;
}
