import { Command } from 'commander';
import { createBus } from '../../../pipeline/bus/index.js';
import { readTopicToEnd } from '../../../pipeline/bus/read-topic.js';
import type { Bus } from '../../../pipeline/bus/types.js';
import { planReplay, readDeadLetter, type StoredDeadLetter } from '../../../pipeline/dlq-replay.js';
import { TallyError } from '../../../pipeline/errors.js';
import { knownKinds } from '../../../pipeline/normalise/index.js';
import { deadLetterTopic } from '../../../pipeline/topics.js';
import { collect, contextFrom } from '../context.js';

interface Selection {
  stage?: string;
  code?: string;
  at?: string[];
  limit: string;
}

const position = (s: StoredDeadLetter): string => `${s.partition}:${s.offset}`;

function selector(options: Selection): (s: StoredDeadLetter) => boolean {
  const at = new Set(options.at ?? []);
  return (s) => (options.stage === undefined || s.letter.stage === options.stage) && (options.code === undefined || s.letter.reasons.some((r) => r.code === options.code)) && (at.size === 0 || at.has(position(s)));
}

async function collectLetters(bus: Bus, kind: string, options: Selection): Promise<StoredDeadLetter[]> {
  if (!knownKinds.includes(kind)) throw new TallyError('USAGE', `unknown kind "${kind}"; the kinds are ${knownKinds.join(', ')}`);
  const limit = Number(options.limit);
  const wanted = selector(options);
  const letters: StoredDeadLetter[] = [];
  await readTopicToEnd(bus, bus.topic(deadLetterTopic(kind)), (message) => {
    const stored = readDeadLetter(message);
    if (stored && wanted(stored)) letters.push(stored);
    return letters.length < limit;
  });
  return letters;
}

const selectionOptions = (command: Command): Command =>
  command
    .option('--stage <stage>', 'only letters of this stage: ship, beats, http, transform, sink-elasticsearch, sink-apel')
    .option('--code <code>', 'only letters with a reason of this code, e.g. RECORD_INVALID')
    .option('--at <partition:offset>', 'only the letter at this position of dlq.<kind> (repeatable)', collect)
    .option('--limit <n>', 'at most this many letters', '1000');

export function dlqCommand(): Command {
  const dlq = new Command('dlq').description('inspect and replay the dead-letter topics dlq.<kind>: every rejected input with its original bytes, where it came from and why');

  dlq.addCommand(
    selectionOptions(new Command('list').description('one line per dead letter: position, time, stage, origin, first reason').argument('[kinds...]', 'kinds (default: all)'))
      .option('--json', 'one JSON object per line instead of a table')
      .action(async (kinds: string[], options: Selection & { json?: boolean }, command: Command) => {
        const { config, log } = contextFrom(command);
        const bus = createBus(config.kafka, log);
        let total = 0;
        for (const kind of kinds.length ? kinds : knownKinds) {
          const letters = await collectLetters(bus, kind, options);
          total += letters.length;
          for (const s of letters) {
            if (options.json) process.stdout.write(`${JSON.stringify({ position: position(s), ...s.letter, kind })}\n`);
            else process.stdout.write(`${kind}  ${position(s).padEnd(9)} ${s.letter['@timestamp']}  ${s.letter.stage.padEnd(18)} ${s.letter.reasons[0]?.code ?? '?'}: ${s.letter.reasons.map((r) => r.message).join(' | ')}\n`);
          }
        }
        if (!options.json) process.stderr.write(`${total} dead letter(s)\n`);
      }),
  );

  dlq.addCommand(
    new Command('show')
      .description('one dead letter in full: reasons, source coordinates and the original bytes as text (or base64)')
      .argument('<kind>')
      .argument('<position>', 'partition:offset, as dlq list prints it')
      .action(async (kind: string, at: string, _options: unknown, command: Command) => {
        const { config, log } = contextFrom(command);
        const [letter] = await collectLetters(createBus(config.kafka, log), kind, { at: [at], limit: '1' });
        if (!letter) throw new TallyError('USAGE', `no dead letter at ${at} of ${deadLetterTopic(kind)}`);
        process.stdout.write(`${JSON.stringify(letter.letter, null, 2)}\n`);
      }),
  );

  dlq.addCommand(
    selectionOptions(new Command('replay').description('send chosen dead letters back where they came from after a fix (raw.<kind> for the transform, the domain topic for a sink); record ids make a repeat harmless').argument('<kind>'))
      .option('--dry-run', 'say what would be replayed, send nothing')
      .action(async (kind: string, options: Selection & { dryRun?: boolean }, command: Command) => {
        const { config, log } = contextFrom(command);
        const bus = createBus(config.kafka, log);
        const letters = await collectLetters(bus, kind, options);
        const plans = letters.map((s) => ({ s, plan: planReplay(s, bus.topic) }));
        const records = plans.flatMap(({ plan }) => ('record' in plan ? [plan.record] : []));
        for (const { s, plan } of plans) if ('skip' in plan) process.stderr.write(`skipped ${position(s)}: ${plan.skip}\n`);
        if (options.dryRun) {
          for (const { s, plan } of plans) if ('record' in plan) process.stdout.write(`would replay ${position(s)} → ${plan.record.topic}\n`);
          process.stderr.write(`dry run: ${records.length} would be replayed, ${plans.length - records.length} skipped\n`);
          return;
        }
        const producer = await bus.producer();
        const step = 500;
        for (let i = 0; i < records.length; i += step) {
          await producer.send(records.slice(i, i + step));
          const done = Math.min(records.length, i + step);
          const width = 30;
          const filled = Math.round((done / records.length) * width);
          process.stderr.write(`\rreplaying [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${records.length}`);
        }
        await producer.close();
        if (records.length) process.stderr.write('\n');
        const targets = [...new Set(records.map((r) => r.topic))];
        process.stdout.write(`replayed ${records.length} dead letter(s) of ${bus.topic(deadLetterTopic(kind))} to ${targets.join(', ') || 'nowhere'}; skipped ${plans.length - records.length}\n`);
      }),
  );
  return dlq;
}
