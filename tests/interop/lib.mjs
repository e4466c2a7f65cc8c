/* lib.mjs: what the interop scripts share. A seeded PRNG for test inputs, the translation of
 * fog add flags (kubo style, IPIP-499 profiles) into ipfs-unixfs-importer options, importing
 * a file or folder from disk with that importer, a blockstore that remembers CIDs, and a DAG
 * walk that lists a file's leaves.
 *
 * The importer options are written out one by one (never via its own `profile` option) so
 * that every CID-relevant default is visible here; cids.mjs cross-checks the two for the pure
 * profiles. Profile parameters: IPIP-499 (ipfs/specs src/ipips/ipip-0499.md); defaults read
 * from ipfs-unixfs-importer 17 (src/index.ts, constants.ts, dir-flat.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize, rabin } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { base32 } from 'multiformats/bases/base32';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

/* ---------- deterministic bytes ---------- */

/* FNV-1a over a string: turns a file name into a PRNG seed. */
export function seedOf(text) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(text)) {
        h = Math.imul(h ^ b, 0x01000193) >>> 0;
    }
    return h;
}

/* mulberry32: small, fast, and the same sequence on every machine. */
export function prng(seed) {
    let a = seed >>> 0;
    return function next() {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
    };
}

/* n pseudo-random bytes from seed. */
export function randomBytes(seed, n) {
    const next = prng(seed);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
        words[i] = next();
    }
    return new Uint8Array(words.buffer, 0, n);
}

/* ---------- fog flags -> importer options ---------- */

export const PROFILES = {
    'unixfs-v1-2025': {
        cidVersion: 1, rawLeaves: true, chunker: { kind: 'size', size: 1048576 },
        maxLinks: 1024, shardStrategy: 'block-bytes'
    },
    'unixfs-v0-2015': {
        cidVersion: 0, rawLeaves: false, chunker: { kind: 'size', size: 262144 },
        maxLinks: 174, shardStrategy: 'links-bytes'
    }
};
export const DEFAULT_PROFILE = 'unixfs-v1-2025';
export const HAMT_THRESHOLD = 262144;

/* kubo's spellings: size-N, rabin, rabin-AVG, rabin-MIN-AVG-MAX, buzhash. */
export function parseChunker(spec) {
    let m = /^size-(\d+)$/.exec(spec);
    if (m) {
        return { kind: 'size', size: Number(m[1]) };
    }
    if (spec === 'rabin') {
        spec = 'rabin-262144';
    }
    m = /^rabin-(\d+)$/.exec(spec);
    if (m) {
        const avg = Number(m[1]);
        return { kind: 'rabin', min: Math.floor(avg / 3), avg, max: avg + Math.floor(avg / 2) };
    }
    m = /^rabin-(\d+)-(\d+)-(\d+)$/.exec(spec);
    if (m) {
        return { kind: 'rabin', min: Number(m[1]), avg: Number(m[2]), max: Number(m[3]) };
    }
    if (spec === 'buzhash') {
        /* go-ipfs-chunker buzhash.go: buzMin 128 KiB, buzMax 512 KiB */
        return { kind: 'buzhash', min: 131072, max: 524288 };
    }
    throw new Error(`unknown chunker ${spec}`);
}

function flagValue(args, i, name) {
    const a = args[i];
    if (a.startsWith(`--${name}=`)) {
        return [a.slice(name.length + 3), i];
    }
    if (i + 1 >= args.length) {
        throw new Error(`--${name} needs a value`);
    }
    return [args[i + 1], i + 1];
}

/* Parses the fog add flags that change CIDs. An explicit --raw-leaves wins; otherwise
 * --cid-version 1 turns raw leaves on as in kubo (the tests always pass --raw-leaves when
 * they combine the v0 profile with CIDv1, so this rule is not relied upon). */
export function parseFlags(flags) {
    const args = typeof flags === 'string' ? flags.split(/\s+/).filter(Boolean) : flags;
    let profile = DEFAULT_PROFILE;
    const over = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        let v;
        if (a === '--cid-profile' || a.startsWith('--cid-profile=')) {
            [v, i] = flagValue(args, i, 'cid-profile');
            if (!(v in PROFILES)) {
                throw new Error(`unknown profile ${v}`);
            }
            profile = v;
        } else if (a === '--cid-version' || a.startsWith('--cid-version=')) {
            [v, i] = flagValue(args, i, 'cid-version');
            over.cidVersion = Number(v);
        } else if (a === '--raw-leaves' || a === '--raw-leaves=true') {
            over.rawLeaves = true;
        } else if (a === '--raw-leaves=false') {
            over.rawLeaves = false;
        } else if (a === '--chunker' || a.startsWith('--chunker=')) {
            [v, i] = flagValue(args, i, 'chunker');
            over.chunker = parseChunker(v);
        } else if (a === '--max-links' || a.startsWith('--max-links=')) {
            [v, i] = flagValue(args, i, 'max-links');
            over.maxLinks = Number(v);
        } else {
            throw new Error(`flag not understood by the JS side: ${a}`);
        }
    }
    const s = { profile, ...PROFILES[profile], ...over };
    if (over.rawLeaves === undefined && over.cidVersion !== undefined && over.cidVersion > 0) {
        s.rawLeaves = true;
    }
    return s;
}

/* A chunker that cuts at the given sizes, in order (used to replay another importer's
 * chunk boundaries). */
export function replayChunker(sizes) {
    return async function* replay(source) {
        const bufs = [];
        let have = 0;
        let k = 0;
        const take = (n) => {
            const out = new Uint8Array(n);
            let off = 0;
            while (off < n) {
                const b = bufs[0];
                const m = Math.min(b.length, n - off);
                out.set(b.subarray(0, m), off);
                off += m;
                if (m === b.length) {
                    bufs.shift();
                } else {
                    bufs[0] = b.subarray(m);
                }
            }
            have -= n;
            return out;
        };
        for await (const buf of source) {
            bufs.push(buf);
            have += buf.length;
            while (k < sizes.length && have >= sizes[k]) {
                yield take(sizes[k++]);
            }
        }
        if (k < sizes.length) {
            if (have !== sizes[k] || k !== sizes.length - 1) {
                throw new Error('replay chunker: sizes do not add up to the file size');
            }
            yield take(have);
        } else if (have > 0) {
            throw new Error('replay chunker: file longer than the sizes');
        }
    };
}

/* The importer's rabin chunker yields no chunk at all for an empty file, and the importer then
 * drops the file (no entry, no link in its folder): a bug of ipfs-unixfs-importer 17.1.1. Its
 * fixed-size chunker, boxo and fog all make one empty leaf, so the reference does the same. */
function atLeastOneChunk(chunker) {
    return async function* oneOrMore(source) {
        let any = false;
        for await (const c of chunker(source)) {
            any = true;
            yield c;
        }
        if (!any) {
            yield new Uint8Array(0);
        }
    };
}

/* Importer options for settings s (from parseFlags). chunkSizes replaces the chunker. */
export function importerOptions(s, chunkSizes) {
    let chunker;
    if (chunkSizes) {
        chunker = replayChunker(chunkSizes);
    } else if (s.chunker.kind === 'size') {
        chunker = fixedSize({ chunkSize: s.chunker.size });
    } else if (s.chunker.kind === 'rabin') {
        chunker = atLeastOneChunk(rabin({
            minChunkSize: s.chunker.min, avgChunkSize: s.chunker.avg,
            maxChunkSize: s.chunker.max
        }));
    } else {
        throw new Error(`the JS importer has no ${s.chunker.kind} chunker`);
    }
    return {
        cidVersion: s.cidVersion,
        rawLeaves: s.rawLeaves,
        leafType: 'file',
        reduceSingleLeafToSelf: true,
        wrapWithDirectory: false,
        chunker,
        layout: balanced({ maxChildrenPerNode: s.maxLinks }),
        shardSplitThresholdBytes: HAMT_THRESHOLD,
        shardSplitStrategy: s.shardStrategy,
        shardFanoutBits: 8,
        fieldOrder: 'links-first'
    };
}

/* ---------- blockstores ---------- */

/* Keeps every block and the CID it was put under (MemoryBlockstore forgets codecs). */
export class RecordingBlockstore {
    constructor() {
        this.byHash = new Map();
        this.cids = new Map();
    }

    put(cid, bytes) {
        const key = base32.encode(cid.multihash.bytes);
        this.byHash.set(key, bytes);
        this.cids.set(cid.toString(), cid);
        return cid;
    }

    * get(cid) {
        const b = this.byHash.get(base32.encode(cid.multihash.bytes));
        if (b === undefined) {
            throw new Error(`block not found: ${cid}`);
        }
        yield b;
    }

    has(cid) {
        return this.byHash.has(base32.encode(cid.multihash.bytes));
    }

    bytes(cid) {
        return this.byHash.get(base32.encode(cid.multihash.bytes));
    }
}

/* Drops every block: for CID-only runs. */
export class NullBlockstore {
    put(cid) {
        return cid;
    }

    * get(cid) {
        throw new Error(`null blockstore has no ${cid}`);
    }

    has() {
        return false;
    }
}

/* ---------- import from disk ---------- */

/* Entries for the importer: files with streamed content, and empty folders (others are
 * implied by their contents). Names are read as UTF-8 strings. */
function* walk(abs, rel) {
    const st = fs.lstatSync(abs);
    if (st.isFile()) {
        const content = st.size <= (4 << 20) ? [fs.readFileSync(abs)]
            : fs.createReadStream(abs, { highWaterMark: 1 << 20 });
        yield { path: rel, content };
        return;
    }
    if (!st.isDirectory()) {
        throw new Error(`not a file or folder: ${abs}`);
    }
    const names = fs.readdirSync(abs).sort();
    if (names.length === 0) {
        yield { path: rel };
    }
    for (const n of names) {
        yield* walk(path.join(abs, n), `${rel}/${n}`);
    }
}

/* Imports a file or folder; returns the root entry and every entry (root last). */
export async function importPath(p, options, blockstore) {
    const entries = [];
    for await (const e of importer(walk(p, path.basename(p)), blockstore, options)) {
        entries.push(e);
    }
    return { root: entries[entries.length - 1], entries };
}

/* UnixFS type name of an imported root ('raw' for a raw block). */
export function rootType(entry) {
    return entry.cid.code === raw.code ? 'raw' : entry.unixfs?.type ?? 'unknown';
}

/* ---------- reading DAGs ---------- */

/* Hashes block bytes and checks them against the CID (sha2-256 only, as fog writes). */
export async function verifyBlock(cid, bytes) {
    if (cid.multihash.code !== sha256.code) {
        return `unexpected multihash code 0x${cid.multihash.code.toString(16)}`;
    }
    const d = await sha256.digest(bytes);
    if (!equalBytes(d.bytes, cid.multihash.bytes)) {
        return 'hash does not match';
    }
    if (cid.code === dagPb.code) {
        try {
            dagPb.decode(bytes);
        } catch (err) {
            return `dag-pb decode: ${err.message}`;
        }
    } else if (cid.code !== raw.code) {
        return `unexpected codec 0x${cid.code.toString(16)}`;
    }
    return null;
}

export function equalBytes(a, b) {
    if (a.length !== b.length) {
        return false;
    }
    for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) {
            return false;
        }
    }
    return true;
}

/* Content sizes of a file DAG's leaves, in order (raw leaves, or dag-pb File nodes without
 * links). get(cid) returns the block bytes. */
export function leafSizes(cid, get, out = []) {
    const bytes = get(cid);
    if (bytes === undefined) {
        throw new Error(`block ${cid} is not there (reached from the root)`);
    }
    if (cid.code === raw.code) {
        out.push(bytes.length);
        return out;
    }
    const node = dagPb.decode(bytes);
    if (node.Links.length === 0) {
        const fsn = UnixFS.unmarshal(node.Data);
        out.push(fsn.data ? fsn.data.length : 0);
        return out;
    }
    for (const l of node.Links) {
        leafSizes(l.Hash, get, out);
    }
    return out;
}

export function parseCid(text) {
    return CID.parse(text.trim());
}
