import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../pipeline/config/load.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { checkKibanaVersion, importSavedObjects, kibanaAccess, requiredKibanaVersion, type KibanaAccess } from '../../../pipeline/setup/kibana-api.js';
import { parseNdjson, savedObjectsFile } from '../../../pipeline/setup/kibana.js';
import { kibanaStatus, multipartFile, startKibanaDouble, type KibanaDouble } from '../../support/kibana-double.js';

/** Against a stand-in that answers like Kibana's /api/status and _import (test/support/kibana-double.ts): no Kibana can run here. */
describe('Kibana: the version check and the saved-objects import', () => {
  let kibana: KibanaDouble;
  let access: KibanaAccess;
  const secrets = mkdtempSync(path.join(tmpdir(), 'tally-kibana-'));
  before(async () => {
    kibana = await startKibanaDouble();
  });
  after(() => kibana.close());
  beforeEach(() => {
    kibana.received.length = 0;
    kibana.status = kibanaStatus('8.9.0');
    kibana.importAnswer = undefined;
    access = kibanaAccess(loadConfig({ env: {} }), kibana.url);
  });

  test('POST /api/saved_objects/_import?overwrite=true, multipart field "file" named *.ndjson, kbn-xsrf, the NDJSON as shipped', async () => {
    const file = savedObjectsFile('accounting', 'tally-');
    const result = await importSavedObjects(kibanaAccess(loadConfig({ env: {} }), `${kibana.url}/`), file);
    assert.equal(result.successCount, file.objects.length);
    assert.deepEqual(result.created.find((o) => o.type === 'dashboard'), { type: 'dashboard', id: 'tally-accounting-overview', title: 'Accounting overview' });
    const [request] = kibana.received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/api/saved_objects/_import?overwrite=true');
    assert.ok(request.headers['kbn-xsrf'], 'kbn-xsrf header');
    assert.equal(request.headers.authorization, undefined, 'no credentials configured, none sent');
    assert.match(request.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    const part = multipartFile(request);
    assert.equal(part.name, 'file');
    assert.equal(part.filename, 'accounting.ndjson');
    assert.deepEqual(parseNdjson(part.content), parseNdjson(file.ndjson));
    await importSavedObjects(access, savedObjectsFile('accounting', 'acme-'), 'ops');
    assert.equal(kibana.received[1]?.url, '/s/ops/api/saved_objects/_import?overwrite=true', 'a space goes in the path');
  });

  test('credentials: kibana.auth (a password file, or an API key) when set, else the Elasticsearch ones', async () => {
    writeFileSync(path.join(secrets, 'kibana-password'), 'k1b-secret\n');
    const sets = ['elasticsearch.username=es-writer', 'elasticsearch.password=es-secret'];
    const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [sets, {}, basic('es-writer', 'es-secret')],
      [[...sets, 'kibana.auth.username=kibana-importer', `kibana.auth.passwordFile=${path.join(secrets, 'kibana-password')}`], {}, basic('kibana-importer', 'k1b-secret')],
      [sets, { TALLY_KIBANA__AUTH__USERNAME: 'from-env', TALLY_KIBANA__AUTH__PASSWORD: 'env-secret' }, basic('from-env', 'env-secret')],
      [[...sets, 'kibana.auth.apiKey=a2V5OnZhbHVl'], {}, 'ApiKey a2V5OnZhbHVl'],
    ];
    for (const [given, env, header] of cases) {
      kibana.received.length = 0;
      await checkKibanaVersion(kibanaAccess(loadConfig({ env, sets: given }), kibana.url), '8.9.0');
      assert.equal(kibana.received[0]?.headers.authorization, header, `${given.join(' ')} ${JSON.stringify(env)}`);
    }
    kibana.status = { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: '[security_exception] unable to authenticate user [kibana-importer]' } };
    const config = loadConfig({ env: {}, sets: [...sets, 'kibana.auth.username=kibana-importer', `kibana.auth.passwordFile=${path.join(secrets, 'kibana-password')}`] });
    await assert.rejects(
      checkKibanaVersion(kibanaAccess(config, kibana.url), '8.9.0'),
      (error) => isTallyError(error, 'KIBANA_AUTH') && !error.retriable && /refused the credentials, user "kibana-importer" with the password from kibana\.auth\.passwordFile .*kibana-password/.test(error.message) && !error.message.includes('k1b-secret'),
    );
    kibana.status = { status: 403, body: { statusCode: 403, error: 'Forbidden', message: 'Forbidden' } };
    await assert.rejects(checkKibanaVersion(kibanaAccess(config, kibana.url), '8.9.0'), (error) => isTallyError(error, 'KIBANA_AUTH') && /lacks a Kibana privilege/.test(error.message));
  });

  test('the version: the shipped objects need 8.9.0; an older Kibana is KIBANA_VERSION, versions compare by number (8.10 is newer than 8.9)', async () => {
    const shipped = ['accounting', 'cloud-usage', 'audit', 'ops-logs'].flatMap((name) => savedObjectsFile(name, 'tally-').objects);
    assert.equal(requiredKibanaVersion(shipped), '8.9.0');
    for (const version of ['8.9.0', '8.10.2', '8.19.4', '9.1.0']) {
      kibana.status = kibanaStatus(version);
      assert.equal(await checkKibanaVersion(access, '8.9.0'), version);
    }
    assert.equal(kibana.received[0]?.method, 'GET');
    assert.equal(kibana.received[0]?.url, '/api/status');
    for (const version of ['8.8.2', '7.17.20']) {
      kibana.status = kibanaStatus(version);
      await assert.rejects(checkKibanaVersion(access, '8.9.0'), (error) => isTallyError(error, 'KIBANA_VERSION') && !error.retriable && error.message.includes(`is ${version}; the saved objects in schemas/kibana need 8.9.0 or later`));
    }
    kibana.status = { status: 200, body: { status: { overall: { level: 'available' } } } };
    await assert.rejects(checkKibanaVersion(access, '8.9.0'), (error) => isTallyError(error, 'KIBANA_VERSION') && /did not say its version/.test(error.message));
    kibana.status = { status: 503, body: 'Kibana server is not ready yet' };
    await assert.rejects(checkKibanaVersion(access, '8.9.0'), (error) => isTallyError(error, 'KIBANA_UNREACHABLE') && error.retriable && /503 Kibana server is not ready yet/.test(error.message));
  });

  test('success: false: how many Kibana created, which were and were not, each error with its message; never "imported nothing"', async () => {
    const file = savedObjectsFile('audit', 'tally-');
    const [failing, missing, ...rest] = file.objects.filter((o) => o.type === 'lens');
    assert.ok(failing && missing);
    const created = file.objects.filter((o) => o !== failing && o !== missing);
    kibana.importAnswer = {
      status: 200,
      body: {
        success: false,
        successCount: created.length,
        successResults: created.map((o) => ({ type: o.type, id: o.id, meta: { title: o.attributes.title } })),
        errors: [
          { type: 'lens', id: failing.id, meta: { title: failing.attributes.title }, error: { type: 'unknown', message: 'Document "x" belongs to a more recent version of Kibana [8.9.0] when the last known version is [8.8.0].', statusCode: 400 } },
          { type: 'lens', id: missing.id, error: { type: 'missing_references', references: [{ type: 'index-pattern', id: 'nope' }] } },
        ],
        warnings: [],
      },
    };
    const error = await importSavedObjects(access, file).then(
      () => assert.fail('a partial import must fail'),
      (e: unknown) => e,
    );
    assert.ok(isTallyError(error, 'KIBANA_IMPORT'), String(error));
    assert.equal(error.retriable, false);
    assert.doesNotMatch(error.message, /imported nothing/);
    assert.match(error.message, new RegExp(`created ${created.length} of the ${file.objects.length} saved objects in audit\\.ndjson \\(successCount ${created.length}\\); 2 not created:`));
    assert.ok(error.message.includes(`lens ${failing.id} "${String(failing.attributes.title)}": unknown: Document "x" belongs to a more recent version of Kibana [8.9.0]`), error.message);
    assert.ok(error.message.includes(`lens ${missing.id} "${String(missing.attributes.title)}": missing_references (missing index-pattern nope)`), error.message);
    assert.ok(error.message.includes(`created: ${created.map((o) => `${o.type} ${o.id} "${String(o.attributes.title)}"`).join(', ')}`), error.message);
    assert.ok(rest.every((o) => error.message.includes(`lens ${o.id}`)));
    assert.equal(error.details?.successCount, created.length);
  });

  test('a 500 from _import is permanent and points to Kibana\'s log; 503 and an unreachable Kibana are retriable; a 400 is permanent', async () => {
    const file = savedObjectsFile('accounting', 'tally-');
    kibana.importAnswer = { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'An internal server error occurred.' } };
    await assert.rejects(importSavedObjects(access, file), (error) => isTallyError(error, 'KIBANA_IMPORT') && !error.retriable && /500 An internal server error occurred/.test(error.message) && /permanent/.test(error.message) && /Kibana's own log/.test(error.message));
    kibana.importAnswer = { status: 503, body: 'Kibana server is not ready yet' };
    await assert.rejects(importSavedObjects(access, file), (error) => isTallyError(error, 'KIBANA_UNREACHABLE') && error.retriable && /503.*not ready/.test(error.message));
    kibana.importAnswer = { status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'Invalid file extension .json' } };
    await assert.rejects(importSavedObjects(access, { ...file, fileName: 'x.json' }), (error) => isTallyError(error, 'KIBANA_IMPORT') && !error.retriable && /Invalid file extension/.test(error.message));
    const closed = { ...access, url: 'http://127.0.0.1:1', timeoutMs: 2000 };
    await assert.rejects(importSavedObjects(closed, file), (error) => isTallyError(error, 'KIBANA_UNREACHABLE') && error.retriable && /unreachable/.test(error.message));
  });
});
