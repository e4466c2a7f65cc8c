/* car_make.mjs: imports a file or folder with ipfs-unixfs-importer and writes its blocks as a
 * CARv1 with @ipld/car CarWriter, for fog to import.
 * Usage: node car_make.mjs PATH OUT.car ORDER FLAGS...
 *   ORDER: children-first (the importer's order: leaves, then their parents, the root last)
 *          or root-first (reversed, the order a trustless gateway streams).
 * Prints the root CID.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CarWriter } from '@ipld/car';
import { RecordingBlockstore, importPath, importerOptions, parseFlags } from './lib.mjs';

const [inPath, carPath, order, ...flags] = process.argv.slice(2);
if (!['children-first', 'root-first'].includes(order)) {
    console.error('usage: car_make.mjs PATH OUT.car children-first|root-first FLAGS...');
    process.exit(2);
}
const store = new RecordingBlockstore();
const { root } = await importPath(inPath, importerOptions(parseFlags(flags)), store);
const cids = [...store.cids.values()];
if (order === 'root-first') {
    cids.reverse();
}
const { writer, out } = CarWriter.create([root.cid]);
const done = pipeline(Readable.from(out), fs.createWriteStream(carPath));
for (const cid of cids) {
    await writer.put({ cid, bytes: store.bytes(cid) });
}
await writer.close();
await done;
console.log(root.cid.toString());
