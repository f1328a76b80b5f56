#!/usr/bin/env node
/*
 * Verifiable Presentations with @digitalbazaar/vc, offline.
 *
 *   node presentation.mjs sign --challenge C --domain D [--seed HEX]
 *        [--cryptosuite NAME] [--created ISO] FILE...
 *     Makes one did:key holder (from the 32-byte hex --seed if given), puts
 *     the signed credentials in FILE... into one presentation held by it, and
 *     signs it for authentication with challenge and domain. Prints the
 *     presentation as one JSON line.
 *
 *   node presentation.mjs verify --challenge C --domain D [--dids DIDS.json]
 *        [--now ISO] FILE
 *     Verifies the presentation in FILE and every credential in it (vc.verify).
 *     Prints {"verified": bool, "errors": [...], "credentials": [bool...]}.
 *
 * Exit status 0 when signed / verified, 1 when not, 2 on bad usage.
 */
import fs from 'node:fs';
import {parseArgs} from 'node:util';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';

import {createDocumentLoader, readDidDocuments} from './loader.mjs';
import {signingSuite, verifyingSuites} from './suites.mjs';

async function holderKey(seedHex) {
  const seed = seedHex ?
    Uint8Array.from(Buffer.from(seedHex, 'hex')) : undefined;
  const generated = await Ed25519Multikey.generate({seed});
  const did = `did:key:${generated.publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.from({
    ...await generated.export({publicKey: true, secretKey: true}),
    id: `${did}#${generated.publicKeyMultibase}`,
    controller: did
  });
  return {did, keyPair};
}

function messages(error, seen = new Set()) {
  if(!error || seen.has(error)) {
    return [];
  }
  seen.add(error);
  const nested = Array.isArray(error.errors) ? [...error.errors] : [];
  return [error.message || String(error),
    ...nested.flatMap(e => messages(e, seen))];
}

async function sign(values, files) {
  const {did, keyPair} = await holderKey(values.seed);
  const verifiableCredential = files.map(
    file => JSON.parse(fs.readFileSync(file, 'utf8')));
  const presentation = vc.createPresentation({verifiableCredential, holder: did});
  const suite = signingSuite({
    name: values.cryptosuite || 'eddsa-rdfc-2022',
    signer: keyPair.signer(),
    date: values.created ? new Date(values.created) : undefined
  });
  const signed = await vc.signPresentation({
    presentation, suite, challenge: values.challenge, domain: values.domain,
    documentLoader: createDocumentLoader()
  });
  process.stdout.write(JSON.stringify(signed) + '\n');
  return 0;
}

async function verify(values, [file]) {
  const presentation = JSON.parse(fs.readFileSync(file, 'utf8'));
  const documentLoader = createDocumentLoader({
    didDocuments: readDidDocuments(values.dids)
  });
  const result = await vc.verify({
    presentation, challenge: values.challenge, domain: values.domain,
    suite: verifyingSuites(), documentLoader,
    now: values.now ? new Date(values.now) : undefined
  });
  const errors = [
    ...messages(result.error),
    ...(result.presentationResult?.results || [])
      .flatMap(r => messages(r.error)),
    ...(result.credentialResults || []).flatMap(r => messages(r.error))
  ];
  process.stdout.write(JSON.stringify({
    verified: result.verified === true,
    presentation: result.presentationResult?.verified === true,
    credentials: (result.credentialResults || []).map(r => r.verified),
    errors: [...new Set(errors)]
  }) + '\n');
  return result.verified ? 0 : 1;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const {values, positionals} = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      challenge: {type: 'string'},
      domain: {type: 'string'},
      seed: {type: 'string'},
      cryptosuite: {type: 'string'},
      created: {type: 'string'},
      dids: {type: 'string'},
      now: {type: 'string'}
    }
  });
  if(!values.challenge || !values.domain || positionals.length === 0) {
    process.stderr.write('usage: presentation.mjs sign|verify --challenge C ' +
      '--domain D FILE...\n');
    return 2;
  }
  if(command === 'sign') {
    return sign(values, positionals);
  }
  if(command === 'verify') {
    return verify(values, positionals);
  }
  process.stderr.write(`unknown command ${command}\n`);
  return 2;
}

main().then(code => {
  process.exitCode = code;
}, error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 2;
});
