#!/usr/bin/env node
/*
 * Signs unsigned credentials with @digitalbazaar/vc as a did:web issuer, offline.
 *
 *   node sign-didweb.mjs --did DID --seed HEX --cryptosuite NAME [--cryptosuite NAME ...] FILE...
 *
 * Makes an Ed25519 key from the 32-byte hex --seed, names it DID#key-1, sets
 * DID as the issuer of every credential (`issuer` or `issuer.id`) and signs
 * each FILE once per --cryptosuite. Prints first {"didDocument": {...}} (what
 * the caller serves at the did:web's URL), then one JSON line per signature:
 *   {"file": ..., "cryptosuite": ..., "credential": {...signed...}}
 * Exit status 0 on success, 1 if any credential could not be signed.
 */
import fs from 'node:fs';
import {parseArgs} from 'node:util';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';

import {createDocumentLoader} from './loader.mjs';
import {signingSuite} from './suites.mjs';

async function main() {
  const {values, positionals} = parseArgs({
    allowPositionals: true,
    options: {
      did: {type: 'string'},
      seed: {type: 'string'},
      cryptosuite: {type: 'string', multiple: true}
    }
  });
  if(!values.did?.startsWith('did:web:') || !values.seed || !values.cryptosuite) {
    process.stderr.write(
      'usage: sign-didweb.mjs --did did:web:... --seed HEX --cryptosuite NAME FILE...\n');
    return 2;
  }
  const seed = Uint8Array.from(Buffer.from(values.seed, 'hex'));
  const generated = await Ed25519Multikey.generate({seed});
  const id = `${values.did}#key-1`;
  const keyPair = await Ed25519Multikey.from({
    ...await generated.export({publicKey: true, secretKey: true}),
    id, controller: values.did
  });
  const didDocument = {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: values.did,
    verificationMethod: [{
      id, type: 'Multikey', controller: values.did,
      publicKeyMultibase: generated.publicKeyMultibase
    }],
    assertionMethod: [id]
  };
  process.stdout.write(JSON.stringify({didDocument}) + '\n');
  const documentLoader = createDocumentLoader({});
  let ok = true;
  for(const file of positionals) {
    const unsigned = JSON.parse(fs.readFileSync(file, 'utf8'));
    const issuer = unsigned.issuer && typeof unsigned.issuer === 'object' ?
      {...unsigned.issuer, id: values.did} : values.did;
    for(const name of values.cryptosuite) {
      const suite = signingSuite({name, signer: keyPair.signer()});
      try {
        const credential = await vc.issue({
          credential: {...structuredClone(unsigned), issuer}, suite, documentLoader
        });
        process.stdout.write(JSON.stringify({file, cryptosuite: name, credential}) + '\n');
      } catch(error) {
        ok = false;
        process.stdout.write(JSON.stringify(
          {file, cryptosuite: name, credential: null, error: error.message}) + '\n');
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
