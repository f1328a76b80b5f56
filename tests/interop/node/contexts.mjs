#!/usr/bin/env node
/*
 * Compares the JSON-LD contexts rpl bundles (rpl/contexts/index.json) with the
 * copies in the npm packages.
 *
 *   node contexts.mjs [--contexts DIR]
 *
 * Prints one JSON line per context URL rpl bundles:
 *   {"url": ..., "npm": "equal" | "different" | "absent", "sameKeyOrder": bool}
 * "equal" means the parsed JSON is deeply equal (npm packages ship JS objects,
 * not files, so bytes cannot be compared). Exit status 1 if any differs.
 */
import {isDeepStrictEqual, parseArgs} from 'node:util';

import {DEFAULT_RPL_CONTEXTS_DIR, npmContexts, rplContexts} from './loader.mjs';

const {values} = parseArgs({
  options: {contexts: {type: 'string', default: DEFAULT_RPL_CONTEXTS_DIR}}
});
const fromNpm = npmContexts();
let allEqual = true;
for(const [url, context] of rplContexts(values.contexts)) {
  let npm = 'absent';
  let sameKeyOrder = null;
  if(fromNpm.has(url)) {
    npm = isDeepStrictEqual(fromNpm.get(url), context) ? 'equal' : 'different';
    sameKeyOrder = JSON.stringify(fromNpm.get(url)) === JSON.stringify(context);
    allEqual &&= npm === 'equal';
  }
  process.stdout.write(JSON.stringify({url, npm, sameKeyOrder}) + '\n');
}
process.exitCode = allEqual ? 0 : 1;
