/* cids.mjs: root CIDs from ipfs-unixfs-importer for a list of cases, the reference side of
 * test_unixfs_cids.sh.
 * Input (stdin), one case a line, tab-separated: NAME PATH FLAGS [CHECK]
 *   FLAGS are fog add flags (see lib.mjs parseFlags); CHECK is optional:
 *   "cid=<CID>"        the CID a spec gives for this input (IPIP-499, UnixFS spec),
 *   "at-threshold"     the root must be a basic directory whose size estimate for the
 *                      profile's strategy is exactly 262144 (proves the input is built right),
 *   "over-threshold"   the root must be a HAMT shard.
 * Output (stdout), one line a case: NAME CID TYPE [problem...] with tab separators; a problem
 * means the JS side itself is wrong (bad input or bad options), not fog.
 * Pure-profile cases are also imported with the importer's own `profile` option; a different
 * CID means lib.mjs maps the profile wrongly.
 */
import readline from 'node:readline';
import * as dagPb from '@ipld/dag-pb';
import {
    HAMT_THRESHOLD, NullBlockstore, RecordingBlockstore, importPath, importerOptions,
    parseFlags, rootType
} from './lib.mjs';

/* The size estimate of a basic directory block under a strategy. */
function estimate(bytes, strategy) {
    if (strategy === 'block-bytes') {
        return bytes.length;
    }
    const node = dagPb.decode(bytes);
    let n = 0;
    for (const l of node.Links) {
        n += new TextEncoder().encode(l.Name).length + l.Hash.bytes.length;
    }
    return n;
}

async function runCase(name, p, flags, check) {
    const s = parseFlags(flags);
    const problems = [];
    const needBlocks = check === 'at-threshold';
    const bs = needBlocks ? new RecordingBlockstore() : new NullBlockstore();
    const { root } = await importPath(p, importerOptions(s), bs);
    const type = rootType(root);
    if (check?.startsWith('cid=') && root.cid.toString() !== check.slice(4)) {
        problems.push(`spec says ${check.slice(4)}`);
    }
    if (check === 'at-threshold') {
        const est = estimate(bs.bytes(root.cid), s.shardStrategy);
        if (type !== 'directory' || est !== HAMT_THRESHOLD) {
            problems.push(`want a basic directory with estimate ${HAMT_THRESHOLD}, ` +
                          `got ${type} with ${est}`);
        }
    }
    if (check === 'over-threshold' && type !== 'hamt-sharded-directory') {
        problems.push(`want a HAMT shard, got ${type}`);
    }
    if (flags.trim() === `--cid-profile ${s.profile}`) {
        const { root: alt } = await importPath(p, { profile: s.profile }, new NullBlockstore());
        if (!alt.cid.equals(root.cid)) {
            problems.push(`importer profile option gives ${alt.cid}`);
        }
    }
    return [name, root.cid.toString(), type, ...problems].join('\t');
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let bad = 0;
for await (const line of rl) {
    if (line.trim() === '') {
        continue;
    }
    const [name, p, flags, check] = line.split('\t');
    try {
        const out = await runCase(name, p, flags ?? '', check);
        if (out.split('\t').length > 3) {
            bad++;
        }
        console.log(out);
    } catch (err) {
        bad++;
        console.log([name, '-', '-', `js error: ${err.message}`].join('\t'));
    }
}
process.exit(bad > 0 ? 1 : 0);
