'use strict';
// switchboard_client — a small Node.js client for the Switchboard gRPC API.
//
//   const { Client } = require('./switchboard_client');
//   const client = new Client({ server: '127.0.0.1:50051', token: process.env.SWITCHBOARD_TOKEN });
//   await client.createRealm('acme.example');
//   await client.createCredential('acme.example', 'alice', { password: 's3cret' });
//   for await (const b of client.listBindings({ realm: 'acme.example' })) console.log(b.aor);
//   for await (const e of client.watchRegistrations({ since: 0, realm: 'acme.example' })) {
//     console.log(e.sequence, e.type, e.binding.aor);
//   }
//   client.close();
//
// The .proto files are loaded at run time from ../../proto (or
// $SWITCHBOARD_PROTO_DIR) with @grpc/proto-loader; google/protobuf's
// well-known types come with protobufjs. Messages use the proto field names
// (keepCase), enums are their names ('REGISTERED'), 64-bit integers are
// decimal strings (RegistrationEvent.sequence: compare with BigInt).
// Every failed call rejects (or ends the stream) with an ApiError.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const DEFAULT_SERVER = '127.0.0.1:50051';
const PROTO_DIR = process.env.SWITCHBOARD_PROTO_DIR || path.resolve(__dirname, '..', '..', 'proto');
const PROTO_FILES = [
  'switchboard/v1/admin.proto',
  'switchboard/v1/registration.proto',
  'switchboard/v1/call.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];
const LOADER_OPTIONS = {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [PROTO_DIR],
};

const packageDefinition = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
const api = grpc.loadPackageDefinition(packageDefinition).switchboard.v1;

// For decoding google.rpc.Status from the grpc-status-details-bin trailer.
const errorRoot = new protobuf.Root();
errorRoot.resolvePath = (origin, target) =>
  (target.startsWith('google/protobuf/') ? target : path.join(PROTO_DIR, target));
errorRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const DETAIL_TYPES = ['google.rpc.BadRequest', 'google.rpc.ErrorInfo', 'google.rpc.ResourceInfo'];

function realmResource(realm) {
  return realm.startsWith('realms/') ? realm : `realms/${realm}`;
}

// 'c0123…' or 'calls/c0123…' → 'calls/c0123…'.
function callResource(call) {
  return call.startsWith('calls/') ? call : `calls/${call}`;
}

// A failed call: code (number), codeName ('NOT_FOUND'), message, and the
// decoded google.rpc details ({'@type': 'google.rpc.BadRequest', ...}).
class ApiError extends Error {
  constructor(serviceError) {
    const codeName = Object.keys(grpc.status).find((k) => grpc.status[k] === serviceError.code)
      || String(serviceError.code);
    super(`${codeName}: ${serviceError.details || serviceError.message}`);
    this.name = 'ApiError';
    this.code = serviceError.code;
    this.codeName = codeName;
    this.details = decodeDetails(serviceError.metadata);
  }
}

function decodeDetails(metadata) {
  const raw = metadata && metadata.get('grpc-status-details-bin')[0];
  if (!raw) return [];
  const status = errorRoot.lookupType('google.rpc.Status').decode(raw);
  const out = [];
  for (const any of status.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    if (!DETAIL_TYPES.includes(typeName)) continue;
    const type = errorRoot.lookupType(typeName);
    out.push({ '@type': typeName, ...type.toObject(type.decode(any.value), { defaults: true }) });
  }
  return out;
}

class Client {
  // server: 'HOST:PORT'; token: bearer token (default $SWITCHBOARD_TOKEN);
  // tls: true, or rootCerts / privateKey / certChain Buffers (PEM) for TLS
  // and mutual TLS; timeoutSeconds: deadline of each unary call.
  constructor({ server = DEFAULT_SERVER, token = process.env.SWITCHBOARD_TOKEN, tls = false,
    rootCerts = null, privateKey = null, certChain = null, timeoutSeconds = 10 } = {}) {
    const credentials = tls || rootCerts || certChain
      ? grpc.credentials.createSsl(rootCerts, privateKey, certChain)
      : grpc.credentials.createInsecure();
    this.admin = new api.AdminService(server, credentials);
    // Share the admin client's channel.
    this.registrations = new api.RegistrationService(server, credentials,
      { channelOverride: this.admin.getChannel() });
    this.calls = new api.CallService(server, credentials,
      { channelOverride: this.admin.getChannel() });
    this.timeoutSeconds = timeoutSeconds;
    // Plain metadata rather than call credentials: grpc-js sends call
    // credentials only over TLS, and a loopback server is usually plaintext.
    this.token = token || '';
  }

  close() {
    this.calls.close();
    this.registrations.close();
    this.admin.close();
  }

  metadata() {
    const md = new grpc.Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  unary(client, method, request) {
    const deadline = Date.now() + this.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      client[method](request, this.metadata(), { deadline }, (err, response) => {
        if (err) reject(new ApiError(err));
        else resolve(response);
      });
    });
  }

  async* pages(client, method, request, field) {
    const req = { ...request };
    for (;;) {
      const page = await this.unary(client, method, req);
      yield* page[field];
      if (!page.next_page_token) return;
      req.page_token = page.next_page_token;
    }
  }

  // Realms: settings are Realm fields ({ challenge: 'CHALLENGE_MODE_407',
  // algorithms: ['MD5'], min_expires_seconds: 10, ... }).
  createRealm(realmId, settings = {}) {
    return this.unary(this.admin, 'CreateRealm', { realm_id: realmId, realm: settings });
  }

  getRealm(realm) {
    return this.unary(this.admin, 'GetRealm', { name: realmResource(realm) });
  }

  listRealms() {
    return this.pages(this.admin, 'ListRealms', {}, 'realms');
  }

  deleteRealm(realm) {
    return this.unary(this.admin, 'DeleteRealm', { name: realmResource(realm) });
  }

  // secret: { password } or { ha1_md5, ha1_sha256, ha1_sha512_256 } or { hash1, hash1b }.
  createCredential(realm, username, secret) {
    return this.unary(this.admin, 'CreateCredential',
      { parent: realmResource(realm), credential_id: username, credential: secret });
  }

  listCredentials(realm) {
    return this.pages(this.admin, 'ListCredentials', { parent: realmResource(realm) },
      'credentials');
  }

  deleteCredential(realm, username) {
    return this.unary(this.admin, 'DeleteCredential',
      { name: `${realmResource(realm)}/credentials/${username}` });
  }

  // Every binding of one realm (or of all), following next_page_token.
  listBindings({ realm = null, aor = '' } = {}) {
    return this.pages(this.registrations, 'ListBindings',
      { parent: realm ? realmResource(realm) : 'realms/-', aor }, 'bindings');
  }

  getBinding(name) {
    return this.unary(this.registrations, 'GetBinding', { name });
  }

  deleteBinding(name) {
    return this.unary(this.registrations, 'DeleteBinding', { name });
  }

  // Registration events as an async iterator. since: undefined = live only,
  // S = the retained events after S first (0: all retained); types: names
  // ('REGISTERED', ...); timeoutSeconds: a deadline for the whole stream.
  // Leaving the loop cancels the call; a server error (OUT_OF_RANGE,
  // RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ...) is thrown as an ApiError,
  // after which watching again with since = the last sequence seen resumes
  // with no gap and no duplicate.
  async* watchRegistrations({ since, realm = null, types = [], timeoutSeconds } = {}) {
    const request = { realm: realm ? realmResource(realm) : '', types };
    if (since !== undefined && since !== null) request.since_sequence = String(since);
    const options = timeoutSeconds ? { deadline: Date.now() + timeoutSeconds * 1000 } : {};
    const call = this.registrations.WatchRegistrations(request, this.metadata(), options);
    try {
      for await (const event of call) yield event;
    } catch (err) {
      if (err && typeof err.code === 'number') throw new ApiError(err);
      throw err;
    } finally {
      call.cancel();
    }
  }

  // --- Calls (CallService: role calls or admin; read for get/list/watch) ---

  // Rings every binding of `to` ('sip:alice@acme.example'); resolves to the
  // Call. waitFor: 'NONE' (default), 'RINGING' or 'ANSWERED' (ABORTED
  // CALL_FAILED when the call ends first); ringTimeoutSeconds 1..600
  // (default 60); headers { 'X-…': value }. The deadline is the client's,
  // plus the ring timeout when waiting; a deadline or cancel ends the wait,
  // not the call.
  createCall(to, { sipAuthUsername = '', sipAuthPassword = '', from = '', fromDisplayName = '',
    sdpOffer = '', ringTimeoutSeconds, headers = {}, requestId = '', waitFor = 'NONE' } = {}) {
    const request = {
      to, sip_auth_username: sipAuthUsername, sip_auth_password: sipAuthPassword, from,
      from_display_name: fromDisplayName, sdp_offer: sdpOffer, headers, request_id: requestId,
      wait_for: waitFor,
    };
    if (ringTimeoutSeconds) request.ring_timeout = { seconds: String(ringTimeoutSeconds) };
    const waitSeconds = waitFor === 'NONE' ? 0 : (ringTimeoutSeconds || 60);
    const deadline = Date.now() + (this.timeoutSeconds + waitSeconds) * 1000;
    return new Promise((resolve, reject) => {
      this.calls.CreateCall(request, this.metadata(), { deadline }, (err, response) => {
        if (err) reject(new ApiError(err));
        else resolve(response);
      });
    });
  }

  getCall(call) {
    return this.unary(this.calls, 'GetCall', { name: callResource(call) });
  }

  // Every call (active and recently ended); state: 'TRYING', 'RINGING', 'ANSWERED', 'ENDED'.
  listCalls({ realm = null, state = 'STATE_UNSPECIFIED' } = {}) {
    return this.pages(this.calls, 'ListCalls',
      { realm: realm ? realmResource(realm) : '', state }, 'calls');
  }

  hangupCall(call) {
    return this.unary(this.calls, 'HangupCall', { name: callResource(call) });
  }

  sendDtmf(call, digits, { durationMs } = {}) {
    const request = { name: callResource(call), digits };
    if (durationMs) {
      request.duration = { seconds: String(Math.floor(durationMs / 1000)),
        nanos: (durationMs % 1000) * 1e6 };
    }
    return this.unary(this.calls, 'SendDtmf', request);
  }

  answerCall(call, { sdpAnswer = '' } = {}) {
    return this.unary(this.calls, 'AnswerCall', { name: callResource(call), sdp_answer: sdpAnswer });
  }

  rejectCall(call, { sipStatus = 0 } = {}) {
    return this.unary(this.calls, 'RejectCall', { name: callResource(call), sip_status: sipStatus });
  }

  // Call events (live only). Resolves once the server has subscribed (its
  // response headers), so a call created afterwards cannot be missed, to an
  // async iterator of CallEvents; types: names ('RINGING', ...); call: only
  // that call's events; timeoutSeconds: a deadline for the whole stream.
  // Leaving the loop cancels the stream; errors are thrown as ApiError.
  async watchCalls({ realm = null, types = [], call = null, timeoutSeconds } = {}) {
    const request = {
      realm: realm ? realmResource(realm) : '', types, call: call ? callResource(call) : '',
    };
    const options = timeoutSeconds ? { deadline: Date.now() + timeoutSeconds * 1000 } : {};
    const stream = this.calls.WatchCalls(request, this.metadata(), options);
    await new Promise((resolve, reject) => {
      stream.once('metadata', resolve);
      stream.once('error', (err) => reject(new ApiError(err)));
    });
    stream.on('error', () => {});  // reported through the iterator below
    return (async function* events() {
      try {
        for await (const event of stream) yield event;
      } catch (err) {
        if (err && typeof err.code === 'number') throw new ApiError(err);
        throw err;
      } finally {
        stream.cancel();
      }
    }());
  }
}

module.exports = { Client, ApiError, DEFAULT_SERVER, realmResource, callResource };
