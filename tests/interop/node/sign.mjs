#!/usr/bin/env node
/*
 * Signs unsigned credentials with @digitalbazaar/vc, offline.
 *
 *   node sign.mjs --cryptosuite NAME [--cryptosuite NAME ...] [--seed HEX]
 *                 [--created ISO] [--contexts DIR] FILE...
 *
 * Generates one Ed25519 key (from the 32-byte hex --seed if given) and makes
 * its did:key the issuer of every credential (`issuer` or `issuer.id`), then
 * signs each FILE once per --cryptosuite (eddsa-rdfc-2022, eddsa-jcs-2022).
 * Prints one JSON line per signature:
 *   {"file": ..., "cryptosuite": ..., "credential": {...signed...}}
 * Exit status 0 on success, 1 if any credential could not be signed.
 */
import fs from 'node:fs';
import {parseArgs} from 'node:util';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';

import {createDocumentLoader, DEFAULT_RPL_CONTEXTS_DIR} from './loader.mjs';
import {signingSuite} from './suites.mjs';

async function generateDidKey(seedHex) {
  const seed = seedHex ? Uint8Array.from(Buffer.from(seedHex, 'hex')) : undefined;
  if(seed && seed.length !== 32) {
    throw new Error('--seed must be 32 bytes of hex.');
  }
  const generated = await Ed25519Multikey.generate({seed});
  const did = `did:key:${generated.publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.from({
    ...await generated.export({publicKey: true, secretKey: true}),
    id: `${did}#${generated.publicKeyMultibase}`,
    controller: did
  });
  return {did, keyPair};
}

function withIssuer(credential, did) {
  const {issuer} = credential;
  const newIssuer = issuer && typeof issuer === 'object' ?
    {...issuer, id: did} : did;
  return {...credential, issuer: newIssuer};
}

async function main() {
  const {values, positionals} = parseArgs({
    allowPositionals: true,
    options: {
      cryptosuite: {type: 'string', multiple: true},
      seed: {type: 'string'},
      created: {type: 'string'},
      contexts: {type: 'string', default: DEFAULT_RPL_CONTEXTS_DIR}
    }
  });
  if(!values.cryptosuite || positionals.length === 0) {
    process.stderr.write('usage: sign.mjs --cryptosuite NAME FILE...\n');
    return 2;
  }
  const {did, keyPair} = await generateDidKey(values.seed);
  const documentLoader = createDocumentLoader({
    rplContextsDir: values.contexts
  });
  const date = values.created ? new Date(values.created) : undefined;
  let ok = true;
  for(const file of positionals) {
    const unsigned = withIssuer(JSON.parse(fs.readFileSync(file, 'utf8')), did);
    for(const name of values.cryptosuite) {
      const suite = signingSuite({name, signer: keyPair.signer(), date});
      try {
        // vc.issue adds the proof to the object it is given: pass a copy
        const credential = await vc.issue({
          credential: structuredClone(unsigned), suite, documentLoader
        });
        process.stdout.write(
          JSON.stringify({file, cryptosuite: name, credential}) + '\n');
      } catch(error) {
        ok = false;
        process.stdout.write(JSON.stringify(
          {file, cryptosuite: name, credential: null, error: error.message}) +
          '\n');
      }
    }
  }
  return ok ? 0 : 1;
}

main().then(code => {
  process.exitCode = code;
}, error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 2;
});
