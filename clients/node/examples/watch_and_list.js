#!/usr/bin/env node
'use strict';
// Lists a realm's bindings and prints its registration events as they happen
// (the Node twin of clients/python/examples/watch_and_list.py: same flags,
// same output, same exit statuses).
//
//   node clients/node/examples/watch_and_list.js --server 127.0.0.1:50051 \
//       --token "$SWITCHBOARD_TOKEN" --realm acme.example \
//       [--create-realm] [--username alice --password s3cret] \
//       [--since 0] [--until-event REGISTERED --timeout 30]
//
// Output: "binding AOR CONTACT TRANSPORT SOURCE NAME" per binding, then
// "bindings: N"; "event #SEQ TIME TYPE AOR CONTACT TRANSPORT SOURCE "UA"" per
// event. Exit 0: --until-event seen (the bindings are listed again), Ctrl-C,
// or --timeout without --until-event; 1: no such event within --timeout;
// 2: the API refused a request (the error is printed).

const path = require('path');
const { parseArgs } = require('util');
const { Client, ApiError, DEFAULT_SERVER } = require(path.join(__dirname, '..', 'switchboard_client'));

function say(text) {
  process.stdout.write(`${text}\n`);
}

async function listBindings(client, realm) {
  let count = 0;
  for await (const b of client.listBindings({ realm })) {
    say(`binding ${b.aor} ${b.contact} ${b.transport} ${b.source_address} ${b.name}`);
    count += 1;
  }
  say(`bindings: ${count}`);
}

function eventLine(e) {
  const seconds = Number(e.event_time ? e.event_time.seconds : 0);
  const when = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const b = e.binding || {};
  return `event #${e.sequence} ${when} ${e.type} ${b.aor || '-'} ${b.contact || '-'} `
    + `${b.transport || '-'} ${e.source_address || '-'} "${e.user_agent}"`;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.SWITCHBOARD_SERVER || DEFAULT_SERVER },
      token: { type: 'string' },
      realm: { type: 'string' },
      'create-realm': { type: 'boolean', default: false },
      username: { type: 'string' },
      password: { type: 'string' },
      since: { type: 'string' },
      'until-event': { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  if (!args.realm) {
    process.stderr.write('usage: watch_and_list.js --realm REALM [--server HOST:PORT] [--token T] '
      + '[--create-realm [--username U --password P]] [--since N] '
      + '[--until-event TYPE --timeout S]\n');
    return 2;
  }
  const timeout = args.timeout ? Number(args.timeout) : undefined;
  const untilEvent = args['until-event'] ? args['until-event'].toUpperCase() : null;

  const client = new Client({ server: args.server, token: args.token });
  process.on('SIGINT', () => { client.close(); process.exit(0); });
  try {
    if (args['create-realm']) {
      const realm = await client.createRealm(args.realm);
      say(`created ${realm.name}`);
      if (args.username && args.password) {
        const credential = await client.createCredential(args.realm, args.username,
          { password: args.password });
        say(`created ${credential.name}`);
      }
    }
    await listBindings(client, args.realm);

    say(`watching ${args.realm}`);
    const events = client.watchRegistrations({
      since: args.since, realm: args.realm, timeoutSeconds: timeout,
    });
    for await (const event of events) {
      say(eventLine(event));
      if (untilEvent && event.type === untilEvent) {
        await listBindings(client, args.realm);
        return 0;
      }
    }
    say('the server ended the stream');
    return 1;
  } catch (err) {
    if (err instanceof ApiError && err.codeName === 'DEADLINE_EXCEEDED' && timeout) {
      if (!untilEvent) return 0;  // watched for --timeout seconds, as asked
      process.stderr.write(`no ${untilEvent} event within ${timeout} s\n`);
      return 1;
    }
    process.stderr.write(`error: ${err.message}\n`);
    for (const d of (err.details || [])) process.stderr.write(`  ${JSON.stringify(d)}\n`);
    return 2;
  } finally {
    client.close();
  }
}

main().then((code) => { process.exitCode = code; });
