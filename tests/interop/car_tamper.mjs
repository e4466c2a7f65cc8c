/* car_tamper.mjs: makes a damaged copy of a CARv1 (offsets from @ipld/car CarIndexer).
 * Usage: node car_tamper.mjs IN.car OUT.car MODE
 *   leaf      flip one bit in the middle of the data of a leaf block (a raw block, or a dag-pb
 *             block without links) in the middle of the file;
 *   root      flip one bit in the middle of the root block's data;
 *   truncate  cut the file in the middle of the last block's data.
 * Prints the CID of the damaged block as written in the CAR, then the same CID as CIDv1
 * base32 (fog may print either), or "- -" for truncate.
 */
import fs from 'node:fs';
import * as dagPb from '@ipld/dag-pb';
import { CarIndexer } from '@ipld/car';
import * as raw from 'multiformats/codecs/raw';

const [inPath, outPath, mode] = process.argv.slice(2);
const bytes = new Uint8Array(fs.readFileSync(inPath));
const indexer = await CarIndexer.fromBytes(bytes);
const roots = (await indexer.getRoots()).map(String);
const index = [];
for await (const e of indexer) {
    index.push(e);
}

function isLeaf(e) {
    const data = bytes.subarray(e.blockOffset, e.blockOffset + e.blockLength);
    return e.cid.code === raw.code || (dagPb.decode(data).Links.length === 0 && data.length > 8);
}

let target;
if (mode === 'leaf') {
    const leaves = index.filter((e) => e.blockLength > 0 && isLeaf(e));
    target = leaves[Math.floor(leaves.length / 2)];
} else if (mode === 'root') {
    target = index.find((e) => String(e.cid) === roots[0]);
} else if (mode === 'truncate') {
    const last = index[index.length - 1];
    const cut = last.blockOffset + Math.floor(last.blockLength / 2);
    fs.writeFileSync(outPath, bytes.subarray(0, cut));
    console.log('- -');
    process.exit(0);
} else {
    console.error('usage: car_tamper.mjs IN.car OUT.car leaf|root|truncate');
    process.exit(2);
}
if (!target) {
    console.error(`no block to damage for mode ${mode}`);
    process.exit(1);
}
const copy = new Uint8Array(bytes);
copy[target.blockOffset + Math.floor(target.blockLength / 2)] ^= 0x01;
fs.writeFileSync(outPath, copy);
console.log(`${target.cid} ${target.cid.toV1()}`);
