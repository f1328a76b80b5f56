#!/usr/bin/env node
/*
 * Verifies credentials with @digitalbazaar/vc, offline.
 *
 *   node verify.mjs [--dids DIDS.json] [--contexts DIR] [--now ISO]
 *                   [--controller CONTROLLER.json] FILE...
 *   node verify.mjs [--dids DIDS.json] < credentials.jsonl
 *
 * --dids: JSON object mapping DID -> DID document (e.g. did:web issuers);
 *   did:key is derived locally. --contexts: rpl's bundled contexts folder.
 * --controller: a controller document trusted in place of dereferencing the
 *   key's controller (vc's CredentialIssuancePurpose `controller` option); the
 *   issuer must still equal its id and it must list the key under
 *   assertionMethod. Only for issuers that are not resolvable offline.
 *
 * With FILE arguments each file holds one credential; without, each stdin line
 * is one credential (JSON Lines). Prints one JSON line per credential:
 *   {"file": ..., "verified": bool, "error": string|null, "errors": [...]}
 * Exit status 0 if every credential verified, 1 otherwise, 2 on bad usage.
 */
import fs from 'node:fs';
import {parseArgs} from 'node:util';

import * as vc from '@digitalbazaar/vc';

import {
  createDocumentLoader, DEFAULT_RPL_CONTEXTS_DIR, readDidDocuments
} from './loader.mjs';
import {verifyingSuites} from './suites.mjs';

// Every message in an error tree: vc wraps proof failures in
// jsonld-signatures' VerificationError, whose `errors` holds the causes.
function messages(error, seen = new Set()) {
  if(!error || seen.has(error)) {
    return [];
  }
  seen.add(error);
  const nested = Array.isArray(error.errors) ? [...error.errors] : [];
  // jsonld.js keeps the document loader's own error as details.cause
  if(error.details?.cause) {
    nested.push(error.details.cause);
  }
  const own = nested.length > 0 && error.name === 'VerificationError' ?
    [] : [error.message || String(error)];
  return [...own, ...nested.flatMap(e => messages(e, seen))];
}

function resultErrors(result) {
  const found = [
    ...messages(result.error),
    ...(result.results || []).flatMap(r => messages(r.error))
  ];
  return [...new Set(found)];
}

function readInputs(files) {
  if(files.length > 0) {
    return files.map(file => ({file, text: fs.readFileSync(file, 'utf8')}));
  }
  return fs.readFileSync(0, 'utf8').split('\n')
    .map((text, i) => ({file: `stdin:${i + 1}`, text}))
    .filter(({text}) => text.trim() !== '');
}

async function verifyOne({file, text}, {documentLoader, suite, now, controller}) {
  let credential;
  try {
    credential = JSON.parse(text);
  } catch(error) {
    return {file, verified: false, error: `invalid JSON: ${error.message}`,
      errors: [error.message]};
  }
  // a fresh purpose per credential; `undefined` lets vc build its default
  const purpose = controller ?
    new vc.CredentialIssuancePurpose({controller}) : undefined;
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, now, purpose
  });
  const errors = result.verified ? [] : resultErrors(result);
  return {
    file, verified: result.verified === true,
    error: errors.length > 0 ? errors.join('; ') : null, errors
  };
}

async function main() {
  const {values, positionals} = parseArgs({
    allowPositionals: true,
    options: {
      dids: {type: 'string'},
      contexts: {type: 'string', default: DEFAULT_RPL_CONTEXTS_DIR},
      now: {type: 'string'},
      controller: {type: 'string'}
    }
  });
  const sources = new Map();
  const documentLoader = createDocumentLoader({
    rplContextsDir: values.contexts,
    didDocuments: readDidDocuments(values.dids),
    sources
  });
  const controller = values.controller ?
    JSON.parse(fs.readFileSync(values.controller, 'utf8')) : undefined;
  const options = {
    documentLoader, suite: verifyingSuites(), now: values.now, controller
  };
  let allVerified = true;
  for(const input of readInputs(positionals)) {
    const result = await verifyOne(input, options);
    allVerified &&= result.verified;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  process.stderr.write(
    `documents served: ${JSON.stringify(Object.fromEntries(sources))}\n`);
  return allVerified ? 0 : 1;
}

main().then(code => {
  process.exitCode = code;
}, error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 2;
});
