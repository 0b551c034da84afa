import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, testBus, uniqueName } from '../../support/world.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/slow-stage.js');

function startStage(env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, ready, exited };
}

describe('graceful shutdown of a consuming stage', { timeout: 180_000 }, () => {
  test('SIGTERM: stop consuming, finish the batch in hand, commit exactly what was done, exit 0', async () => {
    const bus = testBus('kafkajs');
    const input = uniqueName('shutdown-in');
    const output = uniqueName('shutdown-out');
    const group = uniqueName('shutdown-g');
    const admin = await bus.admin();
    await admin.createTopics([{ topic: input }, { topic: output }]);
    const producer = await bus.producer();
    await producer.send(Array.from({ length: 200 }, (_, i) => ({ topic: input, key: String(i), value: String(i) })));
    await producer.close();

    const copied: string[] = [];
    const reader = await bus.consumer({ groupId: uniqueName('reader'), topics: [output] });
    await reader.run((messages) => {
      for (const m of messages) copied.push(m.value?.toString() ?? '');
    });

    const stage = startStage({ STAGE_INPUT: input, STAGE_OUTPUT: output, STAGE_GROUP: group, STAGE_DELAY_MS: '300' });
    await stage.ready;
    await eventually('the stage copies records', 60_000, () => (copied.length >= 10 ? true : undefined));
    stage.child.kill('SIGTERM');
    const exit = await stage.exited;
    assert.equal(exit.code, 0, 'exit 0 after draining');

    const committed = Number((await admin.groupOffsets(group, input))[0]?.committed);
    await eventually('all copies visible', 30_000, () => (copied.length >= committed ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(committed > 0 && committed < 200, `stopped part-way (committed ${committed})`);
    assert.equal(new Set(copied).size, copied.length, 'nothing copied twice');
    assert.equal(copied.length, committed, 'the commit covers exactly the records whose output was acknowledged');
    assert.deepEqual(copied, Array.from({ length: committed }, (_, i) => String(i)));
    await reader.close();
    await admin.close();
  });

  test('a second signal exits at once', async () => {
    const bus = testBus('kafkajs');
    const input = uniqueName('shutdown2-in');
    const admin = await bus.admin();
    await admin.createTopics([{ topic: input }]);
    const producer = await bus.producer();
    await producer.send([{ topic: input, value: 'slow' }]);
    await producer.close();
    await admin.close();
    const stage = startStage({ STAGE_INPUT: input, STAGE_OUTPUT: uniqueName('shutdown2-out'), STAGE_GROUP: uniqueName('g'), STAGE_DELAY_MS: '60000' });
    await stage.ready;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const started = Date.now();
    stage.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    stage.child.kill('SIGTERM');
    const exit = await stage.exited;
    assert.equal(exit.code, 130);
    assert.ok(Date.now() - started < 5000, 'did not wait for the slow batch');
  });
});
