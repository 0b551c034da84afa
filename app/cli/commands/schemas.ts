import { Command } from 'commander';
import { RegistryClient } from '../../../pipeline/registry/client.js';
import { checkAgainstRegistry, checkAgainstRevision, previousRevision, type SchemaCheck } from '../../../pipeline/registry/schemas-check.js';
import { contextFrom } from '../context.js';

interface CheckOptions {
  registry?: string;
  against?: string;
}

const ruleWords: Record<string, string> = {
  'new-field-without-default': 'a field one side lacks has no default',
  'type-change': 'the field changed to a type Avro cannot resolve',
  'schema-change': 'the schema changed in a way Avro cannot resolve',
};

/** The report lines of a check, and whether every schema passed. */
export function describeChecks(checks: SchemaCheck[]): { lines: string[]; ok: boolean } {
  const lines: string[] = [];
  let ok = true;
  for (const check of checks) {
    const refused = check.registry && !check.registry.compatible;
    if (check.problems.length === 0 && !refused) {
      lines.push(`  ${check.topic}: ${check.earlier === 0 ? 'new (nothing to compare with)' : `compatible (FULL_TRANSITIVE) with ${check.earlier} earlier version(s)`}`);
      continue;
    }
    ok = false;
    lines.push(`  ${check.topic}: INCOMPATIBLE with ${check.against}`);
    for (const p of check.problems) {
      const who = p.direction === 'backward' ? `the new schema cannot read what version ${p.version} wrote` : `version ${p.version} cannot read what the new schema writes`;
      lines.push(`    - ${p.field}: ${who}; rule: ${ruleWords[p.rule] ?? p.rule} (${p.message})`);
    }
    if (refused) lines.push(`    - the registry says incompatible${check.registry?.messages.length ? `: ${check.registry.messages.join('; ')}` : ''}`);
  }
  return { lines, ok };
}

export function schemasCommand(): Command {
  const schemas = new Command('schemas').description('the Avro schemas of the domain topics (schemas/avro/*.avsc)');
  schemas
    .command('check')
    .description('fail on a schema change that would break a consumer: every schema against the versions registered in the schema registry (FULL_TRANSITIVE: each reads, and is read by, every earlier version), or, without one, against the schemas of the previous release tag or commit')
    .option('--registry <url>', 'the Confluent-compatible registry to compare with (default registry.url); "none" compares with git instead')
    .option('--against <revision>', 'compare with the schemas at this git revision instead of a registry (default without a registry: the previous release tag, else the parent commit)')
    .action(async (options: CheckOptions, command: Command) => {
      const { config } = contextFrom(command);
      const registryUrl = options.against ? undefined : options.registry === 'none' ? undefined : options.registry;
      let checks: SchemaCheck[];
      let what: string;
      if (registryUrl) {
        const client = new RegistryClient({ url: registryUrl });
        checks = await checkAgainstRegistry(client, (logical) => `${config.kafka.topicPrefix}${logical}`);
        what = `the schema registry ${registryUrl}`;
      } else {
        const revision = options.against ?? previousRevision();
        checks = checkAgainstRevision(revision);
        what = `git revision ${revision}`;
      }
      const { lines, ok } = describeChecks(checks);
      process.stdout.write(`tally schemas check against ${what}:\n${lines.join('\n')}\n`);
      if (!ok) process.exitCode = 1;
    });
  return schemas;
}
