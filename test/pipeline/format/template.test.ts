import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isTallyError } from '../../../pipeline/errors.js';
import { withStackTrace } from '../../../pipeline/format/stack.js';
import { compileFormat, defaultFormats, summaryFormat } from '../../../pipeline/format/template.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { documentOf, eventsOf } from '../../support/fixture-events.js';

/** Real events: a nova-api access line and a ROR tenants-tab line (test/fixtures) through their normalisers. */
const [access] = eventsOf('oslo-log', [
  {
    path: 'test/fixtures/oslo-log/nova-api.log',
    text: '2017-05-16 00:00:17.504 25746 INFO nova.osapi_compute.wsgi.server [req-c53a921a-16c7-422e-8c9d-c922a720d047 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "DELETE /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/b9000564-fe1a-409b-b8cc-1e88b294cd1d HTTP/1.1" status: 204 len: 203 time: 0.2534380\n',
  },
]).map(documentOf);
const [ror] = eventsOf('ror-audit', [
  { path: 'test/fixtures/ror-audit/ctsec_audit_a.log', text: `${readFileSync(path.join(projectRoot, 'test/fixtures/ror-audit/ctsec_audit_a.log'), 'utf8').split('\n')[3]}\n` },
]).map(documentOf);

test('the default summary: the brief one-line form of each model', () => {
  const summary = summaryFormat();
  assert.equal(summary.render(access!), '2017-05-16T00:00:17.504Z INFO nova [req-c53a921a-16c7-422e-8c9d-c922a720d047] 10.11.10.1 "DELETE /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/b9000564-fe1a-409b-b8cc-1e88b294cd1d HTTP/1.1" status: 204 len: 203 time: 0.2534380');
  assert.equal(summary.render(ror!), '2012-04-01T09:07:33.980Z failure ror [-] tenant_admin01 tenantA moveUser user02');
  assert.equal(defaultFormats.ops, '{timestamp} {log.level} {service.name} [{transaction_id}] {message}');
});

test('placeholders: paths, alternatives, the missing mark, widths, cuts and literal braces', () => {
  const line = compileFormat('{{{http.status_code:>4}}} {http.method:<7}|{http.duration_ms:>9} {user.name|user.id:.8} {nothing} {cloud_instance_id|nothing}');
  assert.equal(line.render(access!), '{ 204} DELETE |  253.438 113d3a99 - -');
  assert.equal(compileFormat('{nothing} {log.flags}', { missing: '∅' }).render(access!), '∅ ∅', 'an empty array has no value');
  assert.equal(compileFormat('{event.type} {details.userid}').render(ror!), 'user,change user02');
  assert.equal(compileFormat('plain text }} only').render(access!), 'plain text } only');
  assert.equal(compileFormat('{message}').render({ message: 'one\ntwo\tthree' }), 'one\\ntwo\\tthree', 'one event stays on one line');
  assert.equal(compileFormat('{n:5.2}|').render({ n: 'abcdef' }), 'ab   |');
});

test('a format that is not one is a usage error saying where', () => {
  const problems: [string, RegExp][] = [
    ['{timestamp', /a "\{" that is never closed .* at character 1/],
    ['x } y', /a "\}" without its "\{" .* at character 3/],
    ['{}', /"\{\}" is not a placeholder/],
    ['{a b}', /is not a placeholder/],
    ['{a|}', /is not a placeholder/],
    ['{a:wide}', /"wide" in "\{a:wide\}" is not a width/],
  ];
  for (const [format, message] of problems) assert.throws(() => compileFormat(format), (error) => isTallyError(error, 'USAGE') && message.test(error.message), format);
});

test('withStackTrace: the line, then every stack line indented under it', () => {
  const event = { timestamp: 't', log: { level: 'ERROR' }, message: 'boom', error_stack_trace: 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom\n' };
  assert.deepEqual(withStackTrace(event, compileFormat('{log.level} {message}')), ['ERROR boom', '    Traceback (most recent call last):', '      File "x.py", line 1, in f', '    ValueError: boom']);
  assert.deepEqual(withStackTrace({ message: 'calm', error_stack_trace: '' }, compileFormat('{message}')), ['calm']);
});
