/**
 * The evaluation side of the hostile-input probe: each row is a named case that failed on the
 * code before it (checked by running it there) and passes now. A scripted OpenAI-compatible
 * policy and a tool server, both on 127.0.0.1, play the careless or hostile party.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runEvalCli, type CliIo } from '../../src/eval/cli/cli.js';
import { clearSecrets } from '../../src/eval/secrets.js';
import { weatherQuery } from './judges/trajectoryBuilder.js';
import { sendJson, startLocalServer, type RecordedRequest } from './localServer.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
  clearSecrets();
  delete process.env.TOOLBENCH_KEY;
});

const queries = join(root, 'queries');
mkdirSync(queries);
writeFileSync(join(queries, 'G1_instruction.json'), JSON.stringify([weatherQuery()]));

const CALL = 'Thought: look\nAction: current_temp_for_weather_now\nAction Input: {"city": "Oslo"}';
const FINISH = 'Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "Oslo is 17.5 degrees."}';

/** A policy that calls the tool once, then finishes with `finish`. */
async function policyServer(finish = FINISH) {
  const s = await startLocalServer((req: RecordedRequest, res: ServerResponse) => {
    const body = JSON.parse(req.body) as { messages: unknown[] };
    sendJson(res, 200, { choices: [{ message: { role: 'assistant', content: body.messages.length <= 2 ? CALL : finish } }] });
  });
  closers.push(s.close);
  return s;
}

async function toolServer(answer: (req: RecordedRequest, res: ServerResponse) => void) {
  const s = await startLocalServer(answer);
  closers.push(s.close);
  return s;
}

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: { write: (t: string) => err.push(t), isTTY: false } };
}

async function evaluate(name: string, extra: string[], policyUrl: string) {
  const out = join(root, name);
  const io = capture();
  const code = await runEvalCli(['--policy', 'openai', '--endpoint', policyUrl, '--queries', queries, '--max-steps', '3', '--out', out, ...extra], io);
  const file = join(out, 'trajectories.jsonl');
  const stored = readdirSync(out).includes('trajectories.jsonl') ? readFileSync(file, 'utf8') : '';
  const everything = [stored, io.err.join(''), io.out.join(''), ...readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'))].join('\n');
  return { code, io, stored, everything, results: stored.trim() === '' ? [] : stored.trim().split('\n').map((l) => JSON.parse(l)) };
}

describe('hostile and careless input, evaluation side', () => {
  it('F5: a tool reply nested 4,000 levels deep is refused with a clear error and the query is still recorded', async () => {
    const policy = await policyServer();
    const tools = await toolServer((_req, res) => sendJson(res, 200, `{"error": "", "response": ${'['.repeat(4000)}${']'.repeat(4000)}}`));
    const r = await evaluate('f5', ['--env', 'stabletoolbench', '--env-url', tools.url], `${policy.url}/v1`);
    expect(r.code).toBe(0);
    expect(r.results).toHaveLength(1);
    expect(r.results[0].trajectory.steps[0].reply.error).toMatch(/nested deeper than 256 levels/);
  });

  it('F6: a Finish answer nested 8,000 levels deep is judged and recorded', async () => {
    const deep = `Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": ${'['.repeat(8000)}"x"${']'.repeat(8000)}}`;
    const policy = await policyServer(deep);
    const r = await evaluate('f6', [], `${policy.url}/v1`);
    expect(r.code).toBe(0);
    expect(r.results.map((x) => x.reasons)).toEqual([['answer_too_deep']]);
  });

  it('F7: a 3 MB tool reply is cut when read (--max-reply-bytes) and stored cut', async () => {
    const policy = await policyServer();
    const big = JSON.stringify({ error: '', response: { temperature: 17.5, padding: 'x'.repeat(3_000_000) } });
    const tools = await toolServer((_req, res) => sendJson(res, 200, big));
    const r = await evaluate('f7', ['--env', 'stabletoolbench', '--env-url', tools.url, '--max-reply-bytes', '65536'], `${policy.url}/v1`);
    expect(r.code).toBe(0);
    expect(r.stored.length).toBeLessThan(300_000);
    const reply = r.results[0].trajectory.steps[0].reply;
    expect(reply.cut).toBe(true);
    expect(String(reply.response).length).toBeLessThanOrEqual(65536);
  });

  it('F8: credentials in --endpoint and --env-url reach no printed or stored string, fetch errors included', async () => {
    const policy = await policyServer();
    const seen: RecordedRequest[] = [];
    const tools = await toolServer((req, res) => {
      seen.push(req);
      sendJson(res, 200, { error: '', response: { temperature: 17.5 } });
    });
    const withUserInfo = policy.url.replace('http://', 'http://k:PWSECRET1@');
    const envUrl = `${tools.url.replace('http://', 'http://u:ENVSECRET2@')}/virtual?key=QSECRET3`;
    const ok = await evaluate('f8', ['--env', 'stabletoolbench', '--env-url', envUrl], `${withUserInfo}/v1`);
    expect(ok.code).toBe(0);
    expect(ok.results).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:ENVSECRET2').toString('base64')}`);
    // A failing endpoint: Node's own fetch error would quote the URL.
    const failing = await evaluate('f8-fail', [], 'http://k:PWSECRET4@127.0.0.1:1/v1?token=QSECRET5');
    for (const text of [ok.everything, failing.everything]) {
      for (const secret of ['PWSECRET1', 'ENVSECRET2', 'QSECRET3', 'PWSECRET4', 'QSECRET5']) expect(text).not.toContain(secret);
    }
    expect(failing.everything).toContain('127.0.0.1:1');
  });

  it('F10: a tool server that echoes the ToolBench key in an error: the key is scrubbed before storing', async () => {
    process.env.TOOLBENCH_KEY = 'tb-key-SECRET-0042';
    const policy = await policyServer();
    const tools = await toolServer((req, res) => {
      const key = (JSON.parse(req.body) as { toolbench_key: string }).toolbench_key;
      sendJson(res, 200, { error: `key ${key} is not subscribed`, response: { echoed: key } });
    });
    const r = await evaluate('f10', ['--env', 'stabletoolbench', '--env-url', tools.url], `${policy.url}/v1`);
    expect(r.code).toBe(0);
    expect(r.results[0].trajectory.steps[0].reply.error).toBe('key *** is not subscribed');
    expect(r.everything).not.toContain('tb-key-SECRET-0042');
  });

  it('a query id twice in one group is evaluated once, with a message', async () => {
    const dir = join(root, 'dup-queries');
    mkdirSync(dir);
    writeFileSync(join(dir, 'G1_instruction.json'), JSON.stringify([weatherQuery(), weatherQuery()]));
    const policy = await policyServer();
    const out = join(root, 'dup');
    const io = capture();
    expect(await runEvalCli(['--policy', 'openai', '--endpoint', policy.url, '--queries', dir, '--max-steps', '3', '--out', out], io)).toBe(0);
    expect(readFileSync(join(out, 'trajectories.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(io.err.join('')).toMatch(/G1_instruction\.json\[1\]: query id 1 of G1_instruction appears again \(first at .*\[0\]\); evaluated once/);
  });

  it('a hung tool server: --tool-timeout and --tool-retries bound the wait', async () => {
    const policy = await policyServer();
    const tools = await toolServer(() => undefined);
    const r = await evaluate('hung', ['--env', 'stabletoolbench', '--env-url', tools.url, '--tool-timeout', '0.2', '--tool-retries', '1'], `${policy.url}/v1`);
    expect(r.code).toBe(0);
    expect(r.results[0].trajectory.steps[0]).toMatchObject({ code: 5 });
    expect(r.io.err.join('')).toMatch(/attempt 1\/2 failed \(timed out after 200 ms\)/);
  });
});
