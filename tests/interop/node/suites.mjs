/* The two Data Integrity cryptosuites rpl issues, by name. */
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  createSignCryptosuite as jcsSignCryptosuite,
  createVerifyCryptosuite as jcsVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

// The jcs package splits its cryptosuite into a signing and a verifying half.
const SIGN = new Map([
  ['eddsa-rdfc-2022', eddsaRdfc2022],
  ['eddsa-jcs-2022', jcsSignCryptosuite()]
]);
const VERIFY = new Map([
  ['eddsa-rdfc-2022', eddsaRdfc2022],
  ['eddsa-jcs-2022', jcsVerifyCryptosuite()]
]);

export const CRYPTOSUITE_NAMES = [...SIGN.keys()];

/** One verifying DataIntegrityProof suite per registered cryptosuite. */
export function verifyingSuites() {
  return [...VERIFY.values()].map(
    cryptosuite => new DataIntegrityProof({cryptosuite}));
}

export function signingSuite({name, signer, date}) {
  const cryptosuite = SIGN.get(name);
  if(!cryptosuite) {
    throw new Error(`Unknown cryptosuite "${name}"; expected one of ` +
      `${CRYPTOSUITE_NAMES.join(', ')}.`);
  }
  return new DataIntegrityProof({signer, date, cryptosuite});
}
