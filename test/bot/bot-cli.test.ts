import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../helpers/paths.js';
import { tempDir } from './helpers.js';
import { main } from '../../src/cli/main.js';
import { startDiscordTestServer, type DiscordTestServer } from '../discord/discord-test-server.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTTY: false } };
}

async function withEnv<T>(env: Record<string, string | undefined>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

describe('sagasu deploy-commands', () => {
  let server: DiscordTestServer;
  before(async () => {
    server = await startDiscordTestServer();
  });
  after(() => server.stop());

  it('registers the commands to one guild through DISCORD_API_BASE', async () => {
    const guild = server.addGuild({ name: 'g' });
    const { out, output } = capture();
    const code = await withEnv({ DISCORD_TOKEN: server.token, DISCORD_API_BASE: server.apiBase }, () => main(['node', 'sagasu', 'deploy-commands', '--guild', guild.id], output));
    assert.equal(code, 0);
    assert.equal(out.join(''), `registered 3 command(s) (search, Find similar, sagasu) to guild ${guild.id}\n`);
    assert.deepEqual(server.commands.get(guild.id)!.map((c) => c.name), ['search', 'Find similar', 'sagasu']);
  });

  it('says clearly when the token is missing or refused, without printing it', async () => {
    const missing = capture();
    assert.equal(await withEnv({ DISCORD_TOKEN: undefined }, () => main(['node', 'sagasu', 'deploy-commands'], missing.output)), 1);
    assert.equal(missing.err.join(''), 'sagasu: DISCORD_TOKEN is not set: put the bot token of your application in the environment\n');
    const wrong = capture();
    assert.equal(await withEnv({ DISCORD_TOKEN: 'wrong.token.value', DISCORD_API_BASE: server.apiBase }, () => main(['node', 'sagasu', 'deploy-commands'], wrong.output)), 1);
    assert.equal(wrong.err.join(''), 'sagasu: Discord refused the token (DISCORD_TOKEN)\n');
  });
});

describe('sagasu bot --print-config', () => {
  it('prints the validated configuration with the token hidden', async () => {
    const { out, output } = capture();
    const code = await withEnv({ DISCORD_TOKEN: 'very-secret', SAGASU_MIN_CONFIDENCE: '0.6' }, () => main(['node', 'sagasu', 'bot', '--print-config', '--data', '/tmp/sagasu-x'], output));
    assert.equal(code, 0);
    const printed = JSON.parse(out.join(''));
    assert.equal(printed.token, '[set]');
    assert.equal(printed.minConfidence, 0.6);
    assert.equal(printed.dataDir, '/tmp/sagasu-x');
    assert.ok(!out.join('').includes('very-secret'));
  });
});

describe('sagasu bot', () => {
  it('logs in, runs until SIGINT, then stops cleanly without printing the token', async () => {
    const server = await startDiscordTestServer();
    server.addGuild({ name: 'g' });
    try {
      const child = spawn(process.execPath, [join(packageRoot, 'bin', 'sagasu.js'), 'bot', '--data', tempDir()], {
        env: { ...process.env, DISCORD_TOKEN: server.token, DISCORD_API_BASE: server.apiBase },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const end = Date.now() + 30_000;
      while (!stderr.includes('sagasu bot running as') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      assert.match(stderr, /sagasu bot running as sagasu-test-bot/);
      assert.equal(server.connectedSessionCount, 1);
      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, stderr);
      assert.ok(!stderr.includes(server.token));
    } finally {
      await server.stop();
    }
  });
});
