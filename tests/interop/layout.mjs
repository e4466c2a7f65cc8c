/* layout.mjs: a second opinion on a file DAG that fog built with the rabin chunker. The main
 * test already compares fog's rabin CIDs with the JS importer's (fog implements the rabin-wasm
 * chunker of js-ipfs-unixfs, not kubo's: another polynomial and window, see
 * ipfs/js-ipfs-unixfs#50). When they differ, this tells whether the chunk boundaries or the
 * tree built over them is at fault, because it takes fog's boundaries as given and checks:
 *   - the leaves cover the file exactly and every leaf but the last is within [min, max];
 *   - the JS importer, cutting at the same boundaries with the same settings, builds the same
 *     root CID (leaf encoding, balanced layout, blocksizes, Tsize);
 *   - the JS rabin chunker cuts at the same places (else: the first chunk that differs).
 * Usage: node layout.mjs NAME CAR FILE FOG_ROOT FLAGS...
 * Prints one line "ok   NAME ..." or "FAIL NAME ..."; exit 1 on FAIL.
 */
import fs from 'node:fs';
import { CarReader } from '@ipld/car';
import {
    NullBlockstore, RecordingBlockstore, equalBytes, importPath, importerOptions, leafSizes,
    parseCid, parseFlags, randomBytes, verifyBlock
} from './lib.mjs';

async function main() {
    const [name, carPath, filePath, fogRoot, ...flags] = process.argv.slice(2);
    const s = parseFlags(flags);
    const reader = await CarReader.fromBytes(fs.readFileSync(carPath));
    const blocks = new RecordingBlockstore();
    for await (const { cid, bytes } of reader.blocks()) {
        const bad = await verifyBlock(cid, bytes);
        if (bad) {
            return `FAIL ${name} block ${cid}: ${bad}`;
        }
        blocks.put(cid, bytes);
    }
    const root = parseCid(fogRoot);
    const sizes = leafSizes(root, (c) => blocks.bytes(c));
    const total = sizes.reduce((a, b) => a + b, 0);
    const fileSize = fs.statSync(filePath).size;
    if (total !== fileSize) {
        return `FAIL ${name} leaves hold ${total} bytes, the file has ${fileSize}`;
    }
    const { min, max } = s.chunker;
    for (let i = 0; i < sizes.length - 1; i++) {
        if (sizes[i] < min || sizes[i] > max) {
            return `FAIL ${name} chunk ${i} is ${sizes[i]} bytes, outside [${min}, ${max}]`;
        }
    }
    const replay = await importPath(filePath, importerOptions(s, sizes), new NullBlockstore());
    if (replay.root.cid.toString() !== root.toString()) {
        return `FAIL ${name} fog=${root} js-on-fog-chunks=${replay.root.cid} ` +
               `(${sizes.length} chunks: ${sizes.slice(0, 8).join(',')}...)`;
    }
    const ownStore = new RecordingBlockstore();
    const own = await importPath(filePath, importerOptions(s), ownStore);
    if (!own.root.cid.equals(root)) {
        const jsSizes = leafSizes(own.root.cid, (c) => ownStore.bytes(c));
        let i = 0;
        while (i < sizes.length && sizes[i] === jsSizes[i]) {
            i++;
        }
        return `FAIL ${name} tree over fog's chunks is right, but the chunks differ from js ` +
               `from chunk ${i}: fog ${sizes[i]} bytes, js ${jsSizes[i]} bytes`;
    }
    return `ok   ${name} ${root} (${sizes.length} chunks)`;
}

/* Self-test of the replay chunker and leaf walk, without fog: node layout.mjs --self-test */
async function selfTest() {
    const tmp = fs.mkdtempSync('/tmp/fog-layout-');
    const p = `${tmp}/f.bin`;
    fs.writeFileSync(p, randomBytes(7, 100000));
    const s = parseFlags('--cid-profile unixfs-v0-2015 --chunker size-4096 --max-links 5');
    const bs = new RecordingBlockstore();
    const a = await importPath(p, importerOptions(s), bs);
    const sizes = leafSizes(a.root.cid, (c) => bs.bytes(c));
    const b = await importPath(p, importerOptions(s, sizes), new NullBlockstore());
    fs.rmSync(tmp, { recursive: true });
    const want = Array.from({ length: 25 }, (_, i) => (i < 24 ? 4096 : 100000 - 24 * 4096));
    if (!a.root.cid.equals(b.root.cid) || !equalBytes(sizes, want)) {
        return 'FAIL layout self-test';
    }
    return `ok   layout self-test ${a.root.cid}`;
}

let line;
try {
    line = process.argv[2] === '--self-test' ? await selfTest() : await main();
} catch (err) {
    line = `FAIL ${process.argv[2]} ${err.message}`;
}
console.log(line);
process.exit(line.startsWith('ok') ? 0 : 1);
