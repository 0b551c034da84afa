/**
 * docker-compose.yml, checked without a Docker engine: it parses, it is valid Compose by the Compose
 * Specification's JSON Schema, it has every process of the pipeline built from the repo's Dockerfile,
 * its start order can be met, and it agrees with Tally's own configuration (ports, endpoints,
 * environment variables the config loader reads, image versions, the shutdown drain).
 *
 * Every check is a function that throws on a broken file; the last test feeds each one a broken copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { loadConfig } from '../pipeline/config/load.js';
import { projectRoot } from '../pipeline/paths.js';

/** The Compose Specification schema (upstream compose-spec/schema/compose-spec.json) as an npm package ships it. */
const composeSchemaPackage = 'dclint';
const composeSchemaPath = 'schemas/compose.schema.json';

const composeFile = path.join(projectRoot, 'docker-compose.yml');
const dockerfilePath = path.join(projectRoot, 'Dockerfile');
const cliEntry = path.join(projectRoot, 'dist/app/cli/main.js');

const infrastructure = ['kafka', 'elasticsearch', 'kibana'] as const;
/** service → the `tally` command it runs */
const pipeline: Record<string, string[]> = {
  setup: ['setup'],
  ship: ['ship'],
  beats: ['beats'],
  http: ['http'],
  'apel-queue': ['apel-queue'],
  transform: ['transform'],
  'sink-elasticsearch': ['sink', 'elasticsearch'],
  'sink-apel': ['sink', 'apel'],
};
/** the container ports Compose must publish: the endpoints users point their clients at */
const kibanaPort = 5601;
const beatsPort = 5044;
/** variables Tally reads by name (pipeline/config/load.ts, app/cli/context.ts, the token and password helpers) */
const wellKnownVariables = new Set(['KAFKA_BROKERS', 'ELASTICSEARCH_URL', 'TALLY_CONFIG', 'TALLY_HTTP_TOKEN', 'TALLY_KAFKA_PASSWORD']);

type Json = Record<string, unknown>;
type Compose = { services: Record<string, Json>; volumes?: Record<string, unknown> } & Json;

// ---------------------------------------------------------------- reading

function parseCompose(text: string): Compose {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map((e) => e.message), [], 'docker-compose.yml is not valid YAML');
  assert.deepEqual(doc.warnings.map((w) => w.message), [], 'docker-compose.yml has YAML warnings');
  const value: unknown = doc.toJS({ maxAliasCount: 200 });
  assert.deepEqual(mergeKeysLeft(value), [], '`<<` merge keys left unresolved');
  assert.ok(isObject(value), 'docker-compose.yml must hold a mapping at the top level');
  assert.ok(isObject(value.services), 'docker-compose.yml has no services mapping');
  return value as Compose;
}

function mergeKeysLeft(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => mergeKeysLeft(v, `${at}[${i}]`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '<<' ? [at || '(top level)'] : mergeKeysLeft(v, `${at}.${k}`)));
}

const readCompose = (): Compose => parseCompose(readFileSync(composeFile, 'utf8'));
const configSchema = JSON.parse(readFileSync(path.join(projectRoot, 'schemas/json/config.schema.json'), 'utf8')) as Json;

/** a default from schemas/json/config.schema.json, e.g. schemaDefault('services', 'kafka', 'port') */
function schemaDefault(...keys: string[]): unknown {
  let node: unknown = configSchema;
  for (const key of keys) {
    assert.ok(isObject(node) && isObject(node.properties), `config schema has no properties above ${key}`);
    node = node.properties[key];
  }
  assert.ok(isObject(node) && 'default' in node, `config schema has no default for ${keys.join('.')}`);
  return node.default;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function service(compose: Compose, name: string): Json {
  const s = compose.services[name];
  assert.ok(isObject(s), `service ${name} is missing`);
  return s;
}

/** environment in map or list form, values as strings */
function environment(s: Json): Record<string, string> {
  const env = s.environment;
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const text = String(item);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
      }),
    );
  }
  assert.ok(isObject(env), 'environment must be a mapping or a list');
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

interface Dependency {
  condition: string;
}
function dependsOn(s: Json): Record<string, Dependency> {
  const d = s.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [String(name), { condition: 'service_started' }]));
  assert.ok(isObject(d), 'depends_on must be a list or a mapping');
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { condition: isObject(v) && typeof v.condition === 'string' ? v.condition : 'service_started' }]));
}

interface PublishedPort {
  hostIp: string | undefined;
  published: number | undefined;
  target: number;
}
function ports(s: Json): PublishedPort[] {
  const list = s.ports ?? [];
  assert.ok(Array.isArray(list), 'ports must be a list');
  return list.map((entry: unknown): PublishedPort => {
    if (isObject(entry)) {
      return {
        hostIp: typeof entry.host_ip === 'string' ? entry.host_ip : undefined,
        published: entry.published === undefined ? undefined : Number(entry.published),
        target: Number(entry.target),
      };
    }
    // [host_ip:][published:]target[/protocol], host_ip possibly [ipv6]
    let rest = String(entry).replace(/\/(tcp|udp)$/, '');
    let hostIp: string | undefined;
    const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
    if (v6) [, hostIp, rest] = v6 as unknown as [string, string, string];
    const parts = rest.split(':');
    if (!v6 && parts.length === 3) hostIp = parts.shift();
    assert.ok(parts.length >= 1 && parts.length <= 2 && parts.every((p) => /^\d+$/.test(p)), `cannot read the port entry ${String(entry)}`);
    return { hostIp, published: parts.length === 2 ? Number(parts[0]) : undefined, target: Number(parts[parts.length - 1]) };
  });
}

/** the one port publishing `target`, and it is published on a fixed host port */
function publishedPort(compose: Compose, name: string, target: number): PublishedPort {
  const matches = ports(service(compose, name)).filter((p) => p.target === target);
  assert.equal(matches.length, 1, `${name} must publish container port ${target} exactly once`);
  const port = matches[0]!;
  assert.ok(port.published !== undefined, `${name}: container port ${target} needs a fixed host port`);
  return port;
}

interface Mount {
  source: string | undefined;
  target: string;
  named: boolean;
}
function mounts(s: Json): Mount[] {
  const list = s.volumes ?? [];
  assert.ok(Array.isArray(list), 'volumes must be a list');
  return list.map((entry: unknown): Mount => {
    if (isObject(entry)) {
      const source = typeof entry.source === 'string' ? entry.source : undefined;
      return { source, target: String(entry.target), named: entry.type === 'volume' && source !== undefined };
    }
    const parts = String(entry).split(':');
    if (parts.length === 1) return { source: undefined, target: parts[0]!, named: false };
    const source = parts[0]!;
    return { source, target: parts[1]!, named: !/^[./~$]/.test(source) };
  });
}

function durationMs(value: unknown): number {
  const text = String(value);
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  let rest = text;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.replace(m[0], '');
  }
  assert.ok(rest === '' && text !== '', `cannot read the duration ${text}`);
  return total;
}

/** `KAFKA_LISTENERS`-style lists: NAME://host:port,... */
function listeners(value: string | undefined): Map<string, { host: string; port: number }> {
  const result = new Map<string, { host: string; port: number }>();
  for (const item of (value ?? '').split(',').filter(Boolean)) {
    const m = /^([A-Za-z0-9_]+):\/\/([^:]*):(\d+)$/.exec(item.trim());
    assert.ok(m, `cannot read the listener ${item}`);
    result.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
  }
  return result;
}

function imageTag(image: unknown): { repository: string; tag: string } {
  const m = /^(.+):([^:/]+)$/.exec(String(image));
  assert.ok(m, `image ${String(image)} has no tag`);
  return { repository: m[1]!, tag: m[2]! };
}

function dockerfileFinalStage(): string {
  const text = readFileSync(dockerfilePath, 'utf8').replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM\s/im);
  assert.ok(stages.length > 1, 'Dockerfile has no FROM');
  return stages[stages.length - 1]!;
}

// ---------------------------------------------------------------- checks (each throws on a broken file)

let compiledComposeSchema: ValidateFunction | undefined;
function composeValidator(): ValidateFunction {
  if (compiledComposeSchema) return compiledComposeSchema;
  const schemaFile = path.join(projectRoot, 'node_modules', composeSchemaPackage, composeSchemaPath);
  assert.ok(
    existsSync(schemaFile),
    `the Compose Specification schema is missing: ${schemaFile} (a devDependency: ${composeSchemaPackage})`,
  );
  const { $schema, ...schema } = JSON.parse(readFileSync(schemaFile, 'utf8')) as Json;
  // Ajv's default dialect is draft-07; the upstream file names it by an https URL Ajv does not know.
  assert.match(String($schema), /json-schema\.org\/draft-07\/schema/, 'the Compose schema changed dialect: compile it with ajv/dist/2019 or 2020');
  assert.equal(schema.title, 'Compose Specification');
  // strict: false — the upstream schema uses union types and untyped additionalProperties
  compiledComposeSchema = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return compiledComposeSchema;
}

function checkComposeSchema(compose: unknown): void {
  const validate = composeValidator();
  const ok = validate(compose);
  const errors = validate.errors ?? [];
  assert.ok(ok, `not valid Compose:\n${errors.map((e) => `  ${e.instancePath || '/'}: ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n')}`);
}

function checkServicesPresent(compose: Compose): void {
  const missing = [...infrastructure, ...Object.keys(pipeline)].filter((name) => !isObject(compose.services[name]));
  assert.deepEqual(missing, [], 'services missing from docker-compose.yml');
}

function checkCommands(compose: Compose): void {
  for (const [name, args] of Object.entries(pipeline)) {
    assert.deepEqual(service(compose, name).command, args, `${name} must run \`tally ${args.join(' ')}\``);
    assert.equal(service(compose, name).entrypoint, undefined, `${name} must keep the Dockerfile's ENTRYPOINT`);
  }
}

function checkPipelineBuild(compose: Compose): void {
  const images = new Set<string>();
  for (const name of Object.keys(pipeline)) {
    const s = service(compose, name);
    const build = typeof s.build === 'string' ? { context: s.build } : s.build;
    assert.ok(isObject(build), `${name} must be built (build:) from the repo's Dockerfile`);
    const context = path.resolve(projectRoot, String(build.context ?? '.'));
    assert.equal(context, projectRoot, `${name}: the build context must be the repo root`);
    const dockerfile = path.resolve(context, String(build.dockerfile ?? 'Dockerfile'));
    assert.equal(dockerfile, dockerfilePath, `${name}: the build must use the repo's Dockerfile`);
    assert.ok(existsSync(dockerfile), `${dockerfile} does not exist`);
    assert.equal(typeof s.image, 'string', `${name}: name the built image, so it is built once for every pipeline service`);
    images.add(String(s.image));
  }
  assert.equal(images.size, 1, `the pipeline services must share one image, got ${[...images].join(', ')}`);
}

function checkDockerfile(): void {
  const text = readFileSync(dockerfilePath, 'utf8');
  assert.match(text, /^RUN .*npm ci\b/m, 'the build stage installs with npm ci');
  assert.match(text, /\bnpx tsc -p tsconfig\.json\b/, 'the build stage compiles with tsc -p tsconfig.json');
  const final = dockerfileFinalStage();
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(final);
  assert.ok(entrypoint, 'the final stage needs an ENTRYPOINT in exec (JSON) form');
  const argv = JSON.parse(entrypoint[1]!) as string[];
  assert.deepEqual(argv, ['/usr/local/bin/tally'], 'ENTRYPOINT is the launcher the image writes');
  // the launcher: node with the flags of bin/node-options (copied in, never repeated here) on the compiled CLI
  const launcher = /^RUN printf '(#!\/bin\/sh\\n.*?)' > \/usr\/local\/bin\/tally/m.exec(final);
  assert.ok(launcher, 'the final stage writes /usr/local/bin/tally');
  assert.match(launcher[1]!, /exec node \$\(cat \/app\/bin\/node-options\) \/app\/dist\/app\/cli\/main\.js "\$@"/, 'the launcher execs node (PID 1) with bin/node-options on the compiled CLI');
  assert.match(final, /^COPY --from=build \/app\/bin\/node-options \.\/bin\/node-options$/m, 'bin/node-options is in the image');
  for (const flag of readFileSync(path.join(projectRoot, 'bin/node-options'), 'utf8').split('\n').filter(Boolean)) assert.ok(!text.includes(flag), `the Dockerfile repeats ${flag} instead of reading bin/node-options`);
  assert.ok(existsSync(cliEntry), `${cliEntry} is not built: run tsc first`);
}

function checkDependencies(compose: Compose): void {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const [target, { condition }] of Object.entries(dependsOn(s))) {
      const t = compose.services[target];
      assert.ok(isObject(t), `${name} depends on ${target}, which is not a service`);
      if (condition === 'service_healthy') {
        const hc = t.healthcheck;
        assert.ok(isObject(hc) && hc.test !== undefined && hc.disable !== true, `${name} waits for ${target} to be healthy, but ${target} has no healthcheck`);
      }
      if (condition === 'service_completed_successfully') {
        assert.ok(t.restart === undefined || t.restart === 'no', `${name} waits for ${target} to complete, but ${target} restarts (restart: ${String(t.restart)})`);
      }
    }
  }
  // no cycle: Compose could never start a service on one
  const state = new Map<string, 'visiting' | 'done'>();
  const visitService = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    assert.notEqual(state.get(name), 'visiting', `depends_on cycle: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const next of Object.keys(dependsOn(service(compose, name)))) visitService(next, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(compose.services)) visitService(name, []);
}

function checkStartOrder(compose: Compose): void {
  for (const name of infrastructure) {
    const hc = service(compose, name).healthcheck;
    assert.ok(isObject(hc) && hc.test !== undefined, `${name} needs a healthcheck`);
  }
  for (const name of Object.keys(pipeline)) {
    assert.equal(dependsOn(service(compose, name)).kafka?.condition, 'service_healthy', `${name} must wait for a healthy kafka`);
  }
  const setup = dependsOn(service(compose, 'setup'));
  for (const name of ['elasticsearch', 'kibana']) assert.equal(setup[name]?.condition, 'service_healthy', `setup must wait for a healthy ${name}`);
  for (const name of ['transform', 'sink-elasticsearch']) {
    assert.equal(dependsOn(service(compose, name)).setup?.condition, 'service_completed_successfully', `${name} must wait for setup to complete`);
  }
}

function checkPublishedPorts(compose: Compose): void {
  const loopbackOrAll = (p: PublishedPort, name: string) =>
    assert.ok(p.hostIp === undefined || ['127.0.0.1', '0.0.0.0', '::', 'localhost'].includes(p.hostIp), `${name}: ${p.hostIp} is not reachable as 127.0.0.1`);

  // Kafka: the host listener is published where the default config looks, and advertises that address
  const kafkaPortDefault = schemaDefault('services', 'kafka', 'port') as number;
  const brokersDefault = schemaDefault('kafka', 'brokers') as string[];
  assert.deepEqual(brokersDefault, [`127.0.0.1:${kafkaPortDefault}`], 'config schema: kafka.brokers and services.kafka.port disagree');
  const kafka = service(compose, 'kafka');
  const kafkaEnv = environment(kafka);
  const advertised = listeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
  const bound = listeners(kafkaEnv.KAFKA_LISTENERS);
  const hostListener = [...advertised].find(([, a]) => `${a.host}:${a.port}` === brokersDefault[0]);
  assert.ok(hostListener, `kafka advertises no listener at ${brokersDefault[0]!} (the default kafka.brokers)`);
  const boundPort = bound.get(hostListener[0])?.port;
  assert.ok(boundPort !== undefined, `kafka: listener ${hostListener[0]} is advertised but not in KAFKA_LISTENERS`);
  const kafkaPublished = publishedPort(compose, 'kafka', boundPort);
  assert.equal(kafkaPublished.published, kafkaPortDefault, `kafka must be published on host port ${kafkaPortDefault}`);
  loopbackOrAll(kafkaPublished, 'kafka');

  // Elasticsearch
  const esPortDefault = schemaDefault('services', 'elasticsearch', 'httpPort') as number;
  const esUrlDefault = new URL(schemaDefault('elasticsearch', 'url') as string);
  assert.equal(Number(esUrlDefault.port), esPortDefault, 'config schema: elasticsearch.url and services.elasticsearch.httpPort disagree');
  const es = publishedPort(compose, 'elasticsearch', 9200);
  assert.equal(es.published, esPortDefault, `elasticsearch must be published on host port ${esPortDefault}`);
  loopbackOrAll(es, 'elasticsearch');

  const kibana = publishedPort(compose, 'kibana', kibanaPort);
  assert.equal(kibana.published, kibanaPort, `kibana must be published on host port ${kibanaPort}`);
  assert.equal(publishedPort(compose, 'beats', beatsPort).published, beatsPort, `beats must be published on host port ${beatsPort}`);

  // http: the port the process listens on (its configuration) is the one published
  const httpConfig = configOf(environment(service(compose, 'http')), 'http').http;
  const http = publishedPort(compose, 'http', httpConfig.port);
  assert.equal(http.published, schemaDefault('http', 'port'), 'http must be published on the default http.port');
  assert.equal(httpConfig.host, '0.0.0.0', 'http must listen on all interfaces in its container (TALLY_HTTP__HOST), or the published port reaches nothing');
}

function checkImageVersions(compose: Compose): void {
  const kafkaVersion = schemaDefault('services', 'kafka', 'version') as string;
  const esVersion = schemaDefault('services', 'elasticsearch', 'version') as string;
  const expect = (name: string, repository: string, tag: string) =>
    assert.deepEqual(imageTag(service(compose, name).image), { repository, tag }, `${name} must run ${repository}:${tag}, the version in schemas/json/config.schema.json`);
  expect('kafka', 'apache/kafka', kafkaVersion);
  expect('elasticsearch', 'docker.elastic.co/elasticsearch/elasticsearch', esVersion);
  expect('kibana', 'docker.elastic.co/kibana/kibana', esVersion);
  assert.match(kafkaVersion, /^4\.1\./, 'the design fixes Kafka 4.1.x');
  assert.match(esVersion, /^8\.19\./, 'the design fixes Elasticsearch 8.19.x');
}

/** the configuration a process with this environment runs with; a value the schema refuses fails the check */
function configOf(env: Record<string, string>, name: string): ReturnType<typeof loadConfig> {
  try {
    return loadConfig({ env });
  } catch (error) {
    assert.fail(`${name}: its environment is not a valid Tally configuration: ${(error as Error).message}`);
  }
}

/** Names the config loader reads: the well-known ones, or TALLY_<SECTION>__<KEY> naming a key of the schema. */
function loaderUnderstands(name: string): boolean {
  if (wellKnownVariables.has(name)) return true;
  if (!name.startsWith('TALLY_') || !name.includes('__')) return false;
  let node: unknown = configSchema;
  for (const segment of name.slice('TALLY_'.length).split('__')) {
    const key = segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const properties = isObject(node) && isObject(node.properties) ? node.properties : undefined;
    const match = properties && Object.keys(properties).find((k) => k.toLowerCase() === key.toLowerCase());
    if (!properties || !match) return false;
    node = properties[match];
  }
  return true;
}

function checkEnvironment(compose: Compose): void {
  const kafkaAdvertised = listeners(environment(service(compose, 'kafka')).KAFKA_ADVERTISED_LISTENERS);
  for (const name of Object.keys(pipeline)) {
    const env = environment(service(compose, name));
    const unknown = Object.keys(env).filter((k) => !loaderUnderstands(k));
    assert.deepEqual(unknown, [], `${name}: environment variables Tally's config loader does not read`);
    assert.ok(env.KAFKA_BROKERS, `${name}: KAFKA_BROKERS must name the kafka service (the default 127.0.0.1 is the container itself)`);
    assert.ok(env.ELASTICSEARCH_URL, `${name}: ELASTICSEARCH_URL must name the elasticsearch service`);
    const config = configOf(env, name);
    for (const broker of config.kafka.brokers) {
      const [host, port] = broker.split(':');
      assert.ok(isObject(compose.services[host!]), `${name}: broker ${broker} is not a service of this file`);
      const listener = [...kafkaAdvertised.values()].some((a) => a.host === host && a.port === Number(port));
      assert.ok(listener, `${name}: broker ${broker} is not an address kafka advertises (KAFKA_ADVERTISED_LISTENERS)`);
    }
    const es = new URL(config.elasticsearch.url);
    assert.equal(es.hostname, 'elasticsearch', `${name}: ${config.elasticsearch.url} must name the elasticsearch service`);
    assert.equal(Number(es.port || 80), 9200, `${name}: Elasticsearch listens on 9200 inside the network`);
  }
}

function checkShutdownGrace(compose: Compose): void {
  const drainMs = schemaDefault('shutdown', 'drainTimeoutMs') as number;
  for (const name of Object.keys(pipeline)) {
    const grace = service(compose, name).stop_grace_period;
    assert.ok(grace !== undefined, `${name}: stop_grace_period must cover the ${drainMs} ms drain (Compose's default is 10 s)`);
    assert.ok(durationMs(grace) > drainMs, `${name}: stop_grace_period ${String(grace)} must exceed shutdown.drainTimeoutMs (${drainMs} ms)`);
  }
}

function checkVolumes(compose: Compose): void {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, s] of Object.entries(compose.services)) {
    for (const m of mounts(s)) {
      if (m.named) assert.ok(declared.has(m.source!), `${name} mounts volume ${m.source!}, which is not declared under volumes:`);
    }
  }
  const persisted = (name: string, target: string) =>
    assert.ok(mounts(service(compose, name)).some((m) => m.target === target && m.source !== undefined), `${name}: ${target} must be on a volume`);
  persisted('kafka', environment(service(compose, 'kafka')).KAFKA_LOG_DIRS ?? '/var/lib/kafka/data');
  persisted('elasticsearch', '/usr/share/elasticsearch/data');
  assert.ok(mounts(service(compose, 'ship')).some((m) => m.source && m.target !== '/app/data'), 'ship needs the folder it tails');
  assert.ok(mounts(service(compose, 'apel-queue')).some((m) => m.target.startsWith('/var/spool/apel/')), "apel-queue needs cASO's queue folder");
  assert.ok(mounts(service(compose, 'sink-apel')).some((m) => m.target.startsWith('/var/spool/apel/')), 'sink-apel needs its outgoing queue folder');
  // the image runs as a non-root user: a named volume is writable only where the image made the folder
  const final = dockerfileFinalStage();
  for (const name of Object.keys(pipeline)) {
    for (const m of mounts(service(compose, name))) {
      assert.ok(final.includes(m.target), `${name}: the Dockerfile's final stage must create ${m.target} for its user`);
    }
  }
}

function cliHelp(...args: string[]): string {
  const run = spawnSync(process.execPath, [cliEntry, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(run.status, 0, `tally ${args.join(' ')} --help failed: ${run.stderr}`);
  return run.stdout;
}

/** the commands `tally --help` lists, and for commands with an argument, that their help names it */
function checkCliCommands(help: (...args: string[]) => string = cliHelp): void {
  const listed = new Set([...help().matchAll(/^ {2}([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1]!));
  for (const [name, args] of Object.entries(pipeline)) {
    assert.ok(listed.has(args[0]!), `${name}: \`tally ${args[0]!}\` is not a command of the CLI`);
    if (args.length > 1) {
      const text = help(args[0]!);
      for (const arg of args.slice(1)) assert.ok(text.includes(arg), `${name}: \`tally ${args.join(' ')}\`: ${arg} is not named in its help`);
    }
  }
}

// ---------------------------------------------------------------- the file as it is

test('docker-compose.yml is one YAML mapping: no errors, no duplicate keys, merges resolved', () => {
  const compose = readCompose();
  assert.ok(Object.keys(compose.services).length > 0);
});

test('docker-compose.yml is valid by the Compose Specification schema', () => {
  checkComposeSchema(readCompose());
});

test('every service the pipeline needs is there, running its tally command', () => {
  const compose = readCompose();
  checkServicesPresent(compose);
  checkCommands(compose);
  checkCliCommands();
});

test('the pipeline services are built once from the repo Dockerfile, whose entrypoint is the compiled CLI', () => {
  checkPipelineBuild(readCompose());
  checkDockerfile();
});

test('depends_on names real services, healthchecks where it waits for health, one-shots where it waits for completion', () => {
  const compose = readCompose();
  checkDependencies(compose);
  checkStartOrder(compose);
});

test('published ports agree with the default configuration', () => {
  checkPublishedPorts(readCompose());
});

test('Kafka and Elasticsearch images are the versions `tally services` runs', () => {
  checkImageVersions(readCompose());
});

test("pipeline environment uses only variables the config loader reads, and reaches the network's Kafka and Elasticsearch", () => {
  checkEnvironment(readCompose());
});

test('a stop leaves the pipeline time to drain', () => {
  checkShutdownGrace(readCompose());
});

test('volumes are declared, data is persisted, the folders the processes share are mounted', () => {
  checkVolumes(readCompose());
});

// ---------------------------------------------------------------- each check can fail

test('each check rejects a broken copy of the file', async (t) => {
  const text = readFileSync(composeFile, 'utf8');
  const broken = (mutate: (c: Compose) => void): Compose => {
    const copy = structuredClone(readCompose());
    mutate(copy);
    return copy;
  };
  const cases: [string, () => void][] = [
    ['a YAML error', () => parseCompose(`${text}\n  : [`)],
    ['a duplicate key', () => parseCompose(`${text}\nname: again\n`)],
    ['a key Compose does not know', () => checkComposeSchema(broken((c) => (service(c, 'kafka').imagee = 'x')))],
    ['an unknown depends_on condition', () => checkComposeSchema(broken((c) => (service(c, 'kibana').depends_on = { elasticsearch: { condition: 'service_ready' } })))],
    ['a port given as a mapping', () => checkComposeSchema(broken((c) => (service(c, 'kafka').ports = { host: 19092 })))],
    ['a missing service', () => checkServicesPresent(broken((c) => delete c.services['sink-apel']))],
    ['a wrong command', () => checkCommands(broken((c) => (service(c, 'transform').command = ['transfrom'])))],
    ['a command the CLI does not have', () => checkCliCommands((...args) => cliHelp(...args).replace(/^ {2}apel-queue\b/m, '  apel-queues'))],
    ['a sink target the CLI does not name', () => checkCliCommands((...args) => cliHelp(...args).replaceAll('elasticsearch', 'opensearch'))],
    ['an entrypoint override', () => checkCommands(broken((c) => (service(c, 'ship').entrypoint = ['sh'])))],
    ['a pulled image instead of a build', () => checkPipelineBuild(broken((c) => delete service(c, 'beats').build))],
    ['another Dockerfile', () => checkPipelineBuild(broken((c) => (service(c, 'beats').build = { context: '.', dockerfile: 'Dockerfile.dev' })))],
    ['another build context', () => checkPipelineBuild(broken((c) => (service(c, 'beats').build = { context: './bench' })))],
    ['two image names', () => checkPipelineBuild(broken((c) => (service(c, 'beats').image = 'tally:other')))],
    ['a dependency on a missing service', () => checkDependencies(broken((c) => (service(c, 'ship').depends_on = { zookeeper: { condition: 'service_started' } })))],
    ['waiting for health without a healthcheck', () => checkDependencies(broken((c) => delete service(c, 'kibana').healthcheck))],
    ['waiting for completion of a restarting service', () => checkDependencies(broken((c) => (service(c, 'setup').restart = 'unless-stopped')))],
    ['a dependency cycle', () => checkDependencies(broken((c) => (service(c, 'kafka').depends_on = { transform: { condition: 'service_started' } })))],
    ['a pipeline service not waiting for kafka', () => checkStartOrder(broken((c) => (service(c, 'http').depends_on = ['kafka'])))],
    ['the sink not waiting for setup', () => checkStartOrder(broken((c) => delete (service(c, 'sink-elasticsearch').depends_on as Json).setup))],
    ['kafka on another host port', () => checkPublishedPorts(broken((c) => (service(c, 'kafka').ports = ['9092:19092'])))],
    ['kafka advertising another host address', () =>
      checkPublishedPorts(broken((c) => ((service(c, 'kafka').environment as Json).KAFKA_ADVERTISED_LISTENERS = 'PLAINTEXT://kafka:9092,HOST://localhost:29092')))],
    ['elasticsearch on another host port', () => checkPublishedPorts(broken((c) => (service(c, 'elasticsearch').ports = ['9200:9200'])))],
    ['elasticsearch on a public address only', () => checkPublishedPorts(broken((c) => (service(c, 'elasticsearch').ports = ['192.0.2.1:19200:9200'])))],
    ['beats not published', () => checkPublishedPorts(broken((c) => delete service(c, 'beats').ports))],
    ['http listening on loopback in its container', () => checkPublishedPorts(broken((c) => delete (service(c, 'http').environment as Json).TALLY_HTTP__HOST))],
    ['another Kafka version', () => checkImageVersions(broken((c) => (service(c, 'kafka').image = 'apache/kafka:3.9.1')))],
    ['Kibana and Elasticsearch versions apart', () => checkImageVersions(broken((c) => (service(c, 'kibana').image = 'docker.elastic.co/kibana/kibana:8.18.0')))],
    ['a variable the loader does not read', () => checkEnvironment(broken((c) => ((service(c, 'transform').environment as Json).KAFKA_BOOTSTRAP_SERVERS = 'kafka:9092')))],
    ['a TALLY_ variable naming no key', () => checkEnvironment(broken((c) => ((service(c, 'transform').environment as Json).TALLY_KAFKA__BROKER = 'kafka:9092')))],
    ['a value the config schema refuses', () => checkEnvironment(broken((c) => ((service(c, 'transform').environment as Json).TALLY_KAFKA__BACKEND = 'librdkafka')))],
    ['no KAFKA_BROKERS', () => checkEnvironment(broken((c) => delete (service(c, 'sink-apel').environment as Json).KAFKA_BROKERS))],
    ['a broker kafka does not advertise', () => checkEnvironment(broken((c) => ((service(c, 'ship').environment as Json).KAFKA_BROKERS = 'kafka:19092')))],
    ['Elasticsearch on the host port', () => checkEnvironment(broken((c) => ((service(c, 'setup').environment as Json).ELASTICSEARCH_URL = 'http://elasticsearch:19200')))],
    ["Compose's default stop grace", () => checkShutdownGrace(broken((c) => delete service(c, 'transform').stop_grace_period))],
    ['a stop grace shorter than the drain', () => checkShutdownGrace(broken((c) => (service(c, 'transform').stop_grace_period = '10s')))],
    ['an undeclared volume', () => checkVolumes(broken((c) => delete c.volumes?.['kafka-data']))],
    ['Elasticsearch data not persisted', () => checkVolumes(broken((c) => delete service(c, 'elasticsearch').volumes))],
    ['no queue folder for the APEL sink', () => checkVolumes(broken((c) => (service(c, 'sink-apel').volumes = ['tally-data:/app/data'])))],
    ['a volume on a folder the image does not create', () => checkVolumes(broken((c) => (service(c, 'ship').volumes = ['tally-input:/srv/input:ro'])))],
  ];
  for (const [what, check] of cases) {
    await t.test(what, () => {
      assert.throws(check, assert.AssertionError);
    });
  }
});
