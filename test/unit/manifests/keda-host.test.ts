import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  loadManifestTree,
  managementUrlFromAmqp,
  planEdits,
  readScaledObjects,
  readSecrets,
  triggerHostRef,
} from '../../../src/manifests/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'keda-host-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return loadManifestTree(dir, { base: dir });
}

describe('managementUrlFromAmqp', () => {
  test.each([
    ['amqp://u:p@rabbitmq:5672/', 'http://u:p@rabbitmq:15672/%2F'],
    ['amqp://u:p@rabbitmq:5672', 'http://u:p@rabbitmq:15672/%2F'],
    ['amqp://u:p@rabbitmq', 'http://u:p@rabbitmq:15672/%2F'],
    ['amqp://u:p@rabbitmq:5672/%2F', 'http://u:p@rabbitmq:15672/%2F'],
    ['amqp://u:p@rabbitmq:5672/sentinel', 'http://u:p@rabbitmq:15672/sentinel'],
    ['amqp://u:p@rabbitmq:5672/a%2Fb?heartbeat=10', 'http://u:p@rabbitmq:15672/a%2Fb'],
    ['amqps://u:p%40ss@rabbitmq.svc:5671/prod', 'https://u:p%40ss@rabbitmq.svc:15671/prod'],
    ['AMQP://rabbitmq:5672/', 'http://rabbitmq:15672/%2F'],
    ['amqp://u:p@[::1]:5672/', 'http://u:p@[::1]:15672/%2F'],
  ])('%s → %s', (amqp, http) => {
    expect(managementUrlFromAmqp(amqp)).toBe(http);
  });

  test.each(['http://u:p@rabbitmq:15672/%2F', 'redis://x:6379', 'amqp://', 'amqp://u:p@host/%zz'])(
    '%s is not an amqp URL it can convert',
    (s) => {
      expect(managementUrlFromAmqp(s)).toBeUndefined();
    },
  );
});

const KEDA = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: w}
spec:
  scaleTargetRef: {name: w}
  triggers:
  - type: rabbitmq
    metadata: {protocol: amqp, queueName: q}
    authenticationRef: {name: auth}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: auth}
spec:
  secretTargetRef:
  - {parameter: username, name: conn, key: user}
  - parameter: host
    name: conn
    key: host
`;

describe('set-secret-key and the trigger host reference', () => {
  test('stringData Secret: the new key goes into stringData, other keys untouched', () => {
    const secret = `apiVersion: v1
kind: Secret
metadata: {name: conn}
stringData:
  host: "amqp://u:pw@rabbitmq:5672/"
  user: u   # keep this comment
`;
    const t = tree({ 'keda.yaml': KEDA, 'secret.yaml': secret });
    const so = readScaledObjects(t)[0]!;
    const ref = triggerHostRef(t, so, so.triggers[0]!, readSecrets(t));
    expect(ref).toMatchObject({
      where: 'secret',
      value: 'amqp://u:pw@rabbitmq:5672/',
      refIndex: 1,
      key: 'host',
    });
    const plan = planEdits(t, [
      {
        op: 'set-secret-key',
        secret: { name: 'conn' },
        key: 'management-host',
        value: 'http://u:pw@rabbitmq:15672/%2F',
        like: 'host',
      },
    ]);
    const after = plan.files[0]!.after;
    expect(after).toBe(
      secret.replace(
        '  user: u   # keep this comment\n',
        '  user: u   # keep this comment\n  management-host: http://u:pw@rabbitmq:15672/%2F\n',
      ),
    );
    // Shown with the password masked, in the diff and in the change list.
    expect(plan.files[0]!.diff).toContain('+  management-host: http://u:****@rabbitmq:15672/%2F');
    expect(plan.files[0]!.diff).not.toContain('pw@');
    expect(plan.changes.map((c) => c.to)).toEqual(['http://u:****@rabbitmq:15672/%2F']);
  });

  test('base64 data Secret: the new key is base64 in data; a second plan changes nothing', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const secret = `apiVersion: v1
kind: Secret
metadata: {name: conn}
data:
  host: ${b64('amqps://u:pw@mq:5671/v')}
stringData:
  user: u
`;
    const t = tree({ 'secret.yaml': secret });
    const edit = {
      op: 'set-secret-key' as const,
      secret: { name: 'conn' },
      key: 'management-host',
      value: 'https://u:pw@mq:15671/v',
      like: 'host',
    };
    const plan = planEdits(t, [edit]);
    expect(plan.files[0]!.after).toContain(
      `  host: ${b64('amqps://u:pw@mq:5671/v')}\n  management-host: ${b64('https://u:pw@mq:15671/v')}\nstringData:\n  user: u\n`,
    );
    writeFileSync(path.join(t.base, 'secret.yaml'), plan.files[0]!.after);
    const again = loadManifestTree(t.base, { base: t.base });
    expect(planEdits(again, [edit]).files).toEqual([]);
  });

  test('a TriggerAuthentication whose Secret is not in the tree: the reference is known, the value is not', () => {
    const t = tree({ 'keda.yaml': KEDA });
    const so = readScaledObjects(t)[0]!;
    const ref = triggerHostRef(t, so, so.triggers[0]!, readSecrets(t));
    expect(ref).toMatchObject({ where: 'secret', secretName: 'conn', key: 'host' });
    expect(ref && 'value' in ref ? ref.value : undefined).toBeUndefined();
  });
});
