/* cid_info.mjs: prints a CID (any version, any multibase multiformats reads) as
 * "<CIDv1 base32> <sha2-256 digest in hex>", so shell tests can match either spelling and check
 * block bytes with sha256sum.
 * Usage: node cid_info.mjs CID
 */
import { parseCid } from './lib.mjs';

const cid = parseCid(process.argv[2] ?? '');
const hex = Buffer.from(cid.multihash.digest).toString('hex');
console.log(`${cid.toV1()} ${hex}`);
