#!/usr/bin/env node
/*
 * Checks Bitstring Status List credentials and entries with
 * @digitalbazaar/vc-bitstring-status-list, offline.
 *
 *   node status.mjs check --dids DIDS.json --lists LISTS.json FILE...
 *     LISTS.json maps status list URL -> status list credential. For each
 *     credential FILE, `checkStatus` fetches each entry's list through the
 *     offline loader, verifies it (proof and matching issuer) and reads the bit.
 *     Prints {"file", "verified", "statuses": {purpose: bool}, "error"}.
 *   node status.mjs decode ENCODED...
 *     Prints {"length", "set": [indexes whose bit is 1]} per encodedList.
 *   node status.mjs encode LENGTH INDEX...
 *     Prints {"encodedList"} of a list of LENGTH bits with INDEX... set.
 * Exit status 0 unless the script itself failed.
 */
import fs from 'node:fs';
import {parseArgs} from 'node:util';

import {
  checkStatus, createList, decodeList
} from '@digitalbazaar/vc-bitstring-status-list';

import {createDocumentLoader, readDidDocuments} from './loader.mjs';
import {verifyingSuites} from './suites.mjs';

function withLists(documentLoader, lists) {
  return async url => {
    if(lists.has(url)) {
      return {contextUrl: null, documentUrl: url, document: lists.get(url)};
    }
    return documentLoader(url);
  };
}

async function check(args) {
  const {values, positionals} = parseArgs({
    args, allowPositionals: true,
    options: {dids: {type: 'string'}, lists: {type: 'string'}}
  });
  const lists = new Map(Object.entries(
    JSON.parse(fs.readFileSync(values.lists, 'utf8'))));
  const documentLoader = withLists(createDocumentLoader({
    didDocuments: readDidDocuments(values.dids)
  }), lists);
  for(const file of positionals) {
    const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
    const result = await checkStatus({
      credential, documentLoader, suite: verifyingSuites(),
      verifyBitstringStatusListCredential: true, verifyMatchingIssuers: true
    });
    const statuses = Object.fromEntries((result.results || []).map(
      r => [r.credentialStatus.statusPurpose, r.status]));
    process.stdout.write(JSON.stringify({
      file, verified: result.verified === true, statuses,
      error: result.error ? String(result.error.message || result.error) : null
    }) + '\n');
  }
}

async function decode(encodedLists) {
  for(const encodedList of encodedLists) {
    const list = await decodeList({encodedList});
    const set = [];
    for(let i = 0; i < list.length; i++) {
      if(list.getStatus(i)) {
        set.push(i);
      }
    }
    process.stdout.write(JSON.stringify({length: list.length, set}) + '\n');
  }
}

async function encode([length, ...indexes]) {
  const list = await createList({length: Number(length)});
  for(const index of indexes) {
    list.setStatus(Number(index), true);
  }
  process.stdout.write(JSON.stringify({encodedList: await list.encode()}) + '\n');
}

const [mode, ...rest] = process.argv.slice(2);
const modes = {check, decode, encode};
if(!modes[mode]) {
  process.stderr.write('usage: status.mjs check|decode|encode ...\n');
  process.exitCode = 2;
} else {
  modes[mode](rest).catch(error => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exitCode = 1;
  });
}
