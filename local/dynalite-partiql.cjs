// dynalite (the local DynamoDB) has no PartiQL. DynamoDB's BatchExecuteStatement is the one AWS call
// that writes up to 25 items *conditionally*, each statement succeeding or failing on its own at the
// price of single-item writes (no transaction, no doubled units): λ resolve creates the profiles and
// identity claims of people nobody knows yet with it (shared/identity/dynamo-store.ts, docs/identity.md).
//
// This serves the subset Cairn sends, with DynamoDB's semantics, and refuses everything else:
//   BatchExecuteStatement, 1–25 statements, each `INSERT INTO "<table>" VALUE {'<attr>': ?, …}` with
//   every value a parameter. INSERT fails with the statement error `DuplicateItem` when an item with
//   the same key exists (PartiQL's INSERT never overwrites), else puts the item exactly as PutItem
//   does (dynalite's item lock, key and size checks, indexes, write units per item).
// Two statements on the same item in one request are refused (ValidationException), as BatchWriteItem
// refuses them; Cairn never sends them. Other statements (SELECT, UPDATE, DELETE, literals) are a
// ValidationException naming the subset, so a caller that needs more finds out locally.
//
// Installed on the server dynalite returns (its request listener is wrapped; every other operation
// goes to dynalite unchanged). The store is captured from dynalite's own `db.create`.
'use strict';

const dynaliteDb = require('dynalite/db');

const TARGET = 'DynamoDB_20120810.BatchExecuteStatement';
const MAX_STATEMENTS = 25;
const INSERT = /^\s*INSERT\s+INTO\s+(?:"([^"]+)"|([A-Za-z0-9_.-]+))\s+VALUE\s+\{(.*)\}\s*;?\s*$/is;
const ATTR = /^\s*'((?:[^']|'')+)'\s*:\s*\?\s*$/s;

let lastStore;
if (!dynaliteDb.create[Symbol.for('cairn.dynalite.partiql')]) {
  const create = dynaliteDb.create;
  dynaliteDb.create = function createCapturingStore(options) {
    lastStore = create.call(this, options);
    return lastStore;
  };
  dynaliteDb.create[Symbol.for('cairn.dynalite.partiql')] = true;
}

/** Call right after `require('dynalite')(options)`: that server gets BatchExecuteStatement. */
function withPartiql(server) {
  const store = lastStore;
  if (!store) throw new Error('dynalite-partiql: load it before creating the dynalite server');
  const [original] = server.listeners('request');
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== TARGET) return original(req, res);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let data;
      try {
        data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(req, res, 400, { __type: 'com.amazon.coral.service#SerializationException' });
      }
      if (!req.headers.authorization) {
        return send(req, res, 400, {
          __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
          message: 'Request is missing Authentication Token',
        });
      }
      batchExecute(store, data).then(
        (out) => send(req, res, 200, out),
        (e) =>
          send(req, res, e.statusCode || 500, e.body || { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(e?.message ?? e) }),
      );
    });
  });
  return server;
}

function send(req, res, status, body) {
  const text = JSON.stringify(body);
  req.removeAllListeners();
  res.statusCode = status;
  res.setHeader('x-amzn-RequestId', Math.random().toString(36).slice(2).toUpperCase().padEnd(52, '0'));
  res.setHeader('x-amz-crc32', require('buffer-crc32').unsigned(text));
  res.setHeader('Content-Type', 'application/x-amz-json-1.0');
  res.setHeader('Content-Length', Buffer.byteLength(text, 'utf8'));
  res.end(text);
}

const validation = (message) =>
  Object.assign(new Error(message), { statusCode: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } });

/** `{TableName, Item}` of one statement, or a ValidationException for anything outside the subset. */
function parseInsert(s) {
  if (!s || typeof s.Statement !== 'string')
    throw validation("1 validation error detected: Value null at 'statements.member.statement' failed to satisfy constraint: Member must not be null");
  const m = INSERT.exec(s.Statement);
  if (!m)
    throw validation(
      `Statement not supported by the local DynamoDB (dynalite with local/dynalite-partiql.cjs): only INSERT INTO "table" VALUE {'attr': ?, …}: ${s.Statement}`,
    );
  const names = m[3].split(',').map((part) => {
    const a = ATTR.exec(part);
    if (!a) throw validation(`Statement not supported by the local DynamoDB: every value must be a parameter (?): ${s.Statement}`);
    return a[1].replace(/''/g, "'");
  });
  const params = s.Parameters ?? [];
  if (params.length !== names.length) throw validation(`Number of parameters in request and statement don't match.`);
  if (new Set(names).size !== names.length) throw validation('Duplicate attribute name in the INSERT tuple');
  const Item = {};
  names.forEach((n, i) => {
    const v = params[i];
    if (!v || typeof v !== 'object' || Object.keys(v).length !== 1)
      throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
    Item[n] = v;
  });
  return { TableName: m[1] ?? m[2], Item };
}

const cb2p = (f) => new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

async function batchExecute(store, data) {
  const statements = data.Statements;
  if (!Array.isArray(statements) || statements.length < 1 || statements.length > MAX_STATEMENTS) {
    throw validation(
      `1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to ${MAX_STATEMENTS} and greater than or equal to 1`,
    );
  }
  const parsed = statements.map(parseInsert);
  const tables = new Map();
  const seen = new Set();
  for (const p of parsed) {
    let table = tables.get(p.TableName);
    if (table === undefined) {
      table = await cb2p((cb) =>
        store.getTable(p.TableName, (err, t) => (err?.body?.__type?.endsWith('ResourceNotFoundException') ? cb(null, null) : cb(err, t))),
      );
      tables.set(p.TableName, table);
    }
    if (!table) continue;
    const invalid = dynaliteDb.validateItem(p.Item, table);
    if (invalid) throw invalid;
    const key = `${p.TableName}\u0000${dynaliteDb.createKey(p.Item, table)}`;
    if (seen.has(key)) throw validation('Provided list of item keys contains duplicates');
    seen.add(key);
  }
  const units = new Map();
  const Responses = await Promise.all(
    parsed.map(async ({ TableName, Item }) => {
      const table = tables.get(TableName);
      if (!table) return { TableName, Error: { Code: 'ResourceNotFound', Message: `Requested resource not found: Table: ${TableName} not found` } };
      if (dynaliteDb.itemSize(Item) > store.options.maxItemSize)
        return { TableName, Error: { Code: 'ValidationError', Message: 'Item size has exceeded the maximum allowed size' } };
      const inserted = await insert(store, table, Item);
      if (!inserted) return { TableName, Error: { Code: 'DuplicateItem', Message: 'Duplicate primary key exists in table' } };
      units.set(TableName, (units.get(TableName) ?? 0) + dynaliteDb.capacityUnits(Item, false, false));
      return { TableName };
    }),
  );
  const out = { Responses };
  if (data.ReturnConsumedCapacity === 'TOTAL' || data.ReturnConsumedCapacity === 'INDEXES') {
    out.ConsumedCapacity = [...units].map(([TableName, CapacityUnits]) => ({
      TableName,
      CapacityUnits,
      ...(data.ReturnConsumedCapacity === 'INDEXES' ? { Table: { CapacityUnits } } : {}),
    }));
  }
  return out;
}

/** PutItem's steps (actions/putItem.js) with PartiQL INSERT's condition: false when the key exists. */
function insert(store, table, item) {
  const itemDb = store.getItemDb(table.TableName);
  const key = dynaliteDb.createKey(item, table);
  return new Promise((resolve, reject) => {
    itemDb.lock(key, (release) => {
      const done = release((err, v) => (err ? reject(err) : resolve(v)));
      itemDb.get(key, (err, existing) => {
        if (err && err.name !== 'NotFoundError') return done(err);
        if (existing) return done(null, false);
        dynaliteDb.updateIndexes(store, table, null, item, (err) => {
          if (err) return done(err);
          itemDb.put(key, item, (err) => (err ? done(err) : done(null, true)));
        });
      });
    });
  });
}

module.exports = { withPartiql };
