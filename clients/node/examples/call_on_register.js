#!/usr/bin/env node
'use strict';
// When a user registers, call them; print ringing / answered / ended (the
// Node twin of clients/python/examples/call_on_register.py: same flags, same
// output, same exit statuses).
//
//   node clients/node/examples/call_on_register.js --server 127.0.0.1:50051 \
//       --token "$SWITCHBOARD_TOKEN" --aor sip:alice@acme.example [--timeout 60] \
//       [--hangup-after 5]
//
// Waits for a REGISTERED event of the AOR, calls it (CreateCall rings every
// binding) and follows that call (WatchCalls): "registered AOR CONTACT",
// "call NAME STATE", "RINGING", "ANSWERED CONTACT", "ENDED REASON STATUS (Ns)".
// The token needs role calls (or admin). Exit 0: the call ended; 1: nothing
// within --timeout seconds (the call, if any, is hung up); 2: the API refused
// a request (the error is printed).

const path = require('path');
const { parseArgs } = require('util');
const { Client, ApiError, DEFAULT_SERVER } = require(path.join(__dirname, '..', 'switchboard_client'));

function say(text) {
  process.stdout.write(`${text}\n`);
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.SWITCHBOARD_SERVER || DEFAULT_SERVER },
      token: { type: 'string' },
      aor: { type: 'string' },
      timeout: { type: 'string', default: '60' },
      'hangup-after': { type: 'string' },
    },
  });
  if (!args.aor) {
    process.stderr.write('usage: call_on_register.js --aor sip:USER@DOMAIN [--server HOST:PORT] '
      + '[--token T] [--timeout S] [--hangup-after S]\n');
    return 2;
  }
  const timeout = Number(args.timeout);
  const deadline = Date.now() + timeout * 1000;
  const left = () => Math.max(1, (deadline - Date.now()) / 1000);
  const realm = args.aor.split('@')[1];

  const client = new Client({ server: args.server, token: args.token });
  let call = null;
  let hangupTimer = null;
  try {
    // 1. Wait for the AOR to register.
    let registered = false;
    for await (const e of client.watchRegistrations({
      realm, types: ['REGISTERED'], timeoutSeconds: timeout,
    })) {
      if (e.binding.aor === args.aor) {
        say(`registered ${e.binding.aor} ${e.binding.contact}`);
        registered = true;
        break;
      }
    }
    if (!registered) {  // the stream ended without it: do not call an AOR that never registered
      say('the server ended the stream');
      return 1;
    }
    // 2. Watch calls first (so no event is missed), then call.
    const events = await client.watchCalls({ realm, timeoutSeconds: left() });
    call = await client.createCall(args.aor, { ringTimeoutSeconds: Math.min(60, Math.ceil(left())) });
    say(`call ${call.name} ${call.state}`);
    // 3. Follow that call until it ends.
    for await (const e of events) {
      if (e.call.name !== call.name) continue;
      if (e.type === 'RINGING') {
        say('RINGING');
      } else if (e.type === 'ANSWERED') {
        say(`ANSWERED ${e.call.answered_contact}`);
        if (args['hangup-after']) {
          hangupTimer = setTimeout(() => client.hangupCall(call.name).catch(() => {}),
            Number(args['hangup-after']) * 1000);
        }
      } else if (e.type === 'ENDED') {
        const d = e.call.duration || { seconds: '0', nanos: 0 };
        const took = Number(d.seconds) + d.nanos / 1e9;
        say(`ENDED ${e.call.end_reason} ${e.call.sip_status} (${took.toFixed(1)}s)`);
        return 0;
      }
    }
    say('the server ended the stream');
    return 1;
  } catch (err) {
    if (err instanceof ApiError && err.codeName === 'DEADLINE_EXCEEDED') {
      process.stderr.write(`nothing within ${timeout} s\n`);
      if (call) await client.hangupCall(call.name).catch(() => {});
      return 1;
    }
    process.stderr.write(`error: ${err.message}\n`);
    for (const d of (err.details || [])) process.stderr.write(`  ${JSON.stringify(d)}\n`);
    return 2;
  } finally {
    // The call may end before --hangup-after (the device hung up): no
    // hangup then, and no waiting for the timer.
    clearTimeout(hangupTimer);
    client.close();
  }
}

main().then((code) => { process.exitCode = code; });
