import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of a test redis-server that can break the network in
 * the ways a real one breaks:
 *
 * - `blackhole()`: connections are accepted but nothing ever answers;
 * - `cut()`: every open connection is dropped (new ones still work);
 * - `dropReplyOf(match)`: the next command that `match`es is delivered to
 *   Redis (so it runs), but the connection is cut instead of returning its
 *   reply — the client cannot know whether it ran;
 * - `delayReplyOf(match, ms)`: the command runs at once, its reply arrives
 *   late (a slow network, or a client process frozen mid-call).
 *
 * It parses RESP2/RESP3 frames in both directions to line replies up with
 * commands (ioredis 6 speaks RESP3).
 */

/** Length of the first complete RESP frame in buf from `at`, or -1 if incomplete. */
export function frameLength (buf: Buffer, at = 0): number {
  if (at >= buf.length) return -1
  const lineEnd = buf.indexOf('\r\n', at)
  if (lineEnd < 0) return -1
  const type = String.fromCharCode(buf[at])
  const head = buf.toString('latin1', at + 1, lineEnd)
  const afterLine = lineEnd + 2
  switch (type) {
    case '+': case '-': case ':': case '_': case ',': case '#': case '(':
      return afterLine - at
    case '$': case '=': case '!': {
      const n = Number(head)
      if (n < 0) return afterLine - at
      return buf.length >= afterLine + n + 2 ? afterLine + n + 2 - at : -1
    }
    case '*': case '~': case '>': case '%': {
      // RESP3 maps hold 2n frames.
      const n = Number(head) * (type === '%' ? 2 : 1)
      let pos = afterLine
      for (let i = 0; i < n; i++) {
        const len = frameLength(buf, pos)
        if (len < 0) return -1
        pos += len
      }
      return pos - at
    }
    default:
      // Inline command (no RESP array): up to the line end.
      return afterLine - at
  }
}

/** The bulk strings of a RESP array command frame. */
export function commandArgs (frame: Buffer): string[] {
  const args: string[] = []
  if (frame[0] !== 0x2a) return frame.toString('utf8').trim().split(/\s+/)
  let pos = frame.indexOf('\r\n') + 2
  while (pos < frame.length) {
    const lineEnd = frame.indexOf('\r\n', pos)
    const n = Number(frame.toString('latin1', pos + 1, lineEnd))
    args.push(frame.toString('utf8', lineEnd + 2, lineEnd + 2 + n))
    pos = lineEnd + 2 + n + 2
  }
  return args
}

interface Trap {
  match: (args: string[]) => boolean
  /** null: cut the connection instead of replying; a number: hold the reply (and all after it) this long. */
  delayMs: number | null
  /** Also hold every command the client sends after this one, for delayMs: the client looks frozen. */
  freeze: boolean
  done: () => void
}

interface Link {
  client: Socket
  server: Socket
  fromClient: Buffer
  fromServer: Buffer
  commandsSeen: number
  repliesSeen: number
  /** The trapped command on this link and its index. */
  trapped: { index: number, trap: Trap } | null
  /** Server bytes held back while a delayed reply waits. */
  held: Buffer[] | null
  /** Client bytes held back while the client is "frozen". */
  heldOut: Buffer[] | null
}

export class RedisProxy {
  readonly upstreamPort: number
  port = 0
  readonly #server: Server
  readonly #links = new Set<Link>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #blackhole = false
  #trap: Trap | null = null
  /** Commands whose reply was dropped or delayed, for assertions. */
  trapped: string[][] = []
  /** Every command any client sent through the proxy (to prove a call sent nothing). */
  commandCount = 0

  constructor (upstreamPort: number) {
    this.upstreamPort = upstreamPort
    this.#server = createServer((client) => this.#accept(client))
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async listen (): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    const address = this.#server.address()
    this.port = typeof address === 'object' && address !== null ? address.port : 0
  }

  /** Accept connections but never answer (and forward nothing). */
  blackhole (on = true): void {
    this.#blackhole = on
    if (on) this.cut()
  }

  /** Drop every open connection. */
  cut (): void {
    for (const link of this.#links) this.#close(link)
  }

  /** The next command matching runs in Redis, but its connection is cut before the reply. Resolves when that happened. */
  async dropReplyOf (match: (args: string[]) => boolean): Promise<void> {
    await new Promise<void>((resolve) => { this.#trap = { match, delayMs: null, freeze: false, done: resolve } })
  }

  /**
   * The next command matching runs in Redis at once, but its reply reaches the
   * client `delayMs` later. With `freeze`, whatever the client sends after it
   * (heartbeats…) is held as long: as if the client process froze right after
   * sending it. Resolves when delivered.
   */
  async delayReplyOf (match: (args: string[]) => boolean, delayMs: number, options: { freeze?: boolean } = {}): Promise<void> {
    await new Promise<void>((resolve) => { this.#trap = { match, delayMs, freeze: options.freeze === true, done: resolve } })
  }

  async close (): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #newLink (client: Socket, server: Socket): Link {
    const link: Link = { client, server, fromClient: Buffer.alloc(0), fromServer: Buffer.alloc(0), commandsSeen: 0, repliesSeen: 0, trapped: null, held: null, heldOut: null }
    this.#links.add(link)
    return link
  }

  #accept (client: Socket): void {
    client.on('error', () => {})
    if (this.#blackhole) {
      // Hold the connection open and silent; close it with the proxy.
      const link = this.#newLink(client, client)
      client.on('close', () => this.#links.delete(link))
      client.on('data', () => {})
      return
    }
    const server = connect(this.upstreamPort, '127.0.0.1')
    server.on('error', () => {})
    const link = this.#newLink(client, server)
    client.on('data', (chunk: Buffer) => {
      if (link.heldOut !== null) {
        link.heldOut.push(chunk)
        return
      }
      // Bytes buffered before this chunk were forwarded already (a partial command).
      const before = link.fromClient.length
      link.fromClient = Buffer.concat([link.fromClient, chunk])
      let consumed = 0
      while (true) {
        const len = frameLength(link.fromClient, consumed)
        if (len < 0) break
        const frame = link.fromClient.subarray(consumed, consumed + len)
        consumed += len
        const index = link.commandsSeen++
        this.commandCount++
        const trap = this.#trap
        if (trap !== null && link.trapped === null && trap.match(commandArgs(frame))) {
          this.#trap = null
          link.trapped = { index, trap }
          this.trapped.push(commandArgs(frame))
          if (trap.freeze) {
            const upTo = consumed - before
            server.write(chunk.subarray(0, upTo))
            link.heldOut = [chunk.subarray(upTo)]
            link.fromClient = Buffer.alloc(0)
            return
          }
        }
      }
      link.fromClient = link.fromClient.subarray(consumed)
      server.write(chunk)
    })
    server.on('data', (chunk: Buffer) => this.#fromServer(link, chunk))
    const end = (): void => this.#close(link)
    client.on('close', end)
    server.on('close', end)
  }

  #fromServer (link: Link, chunk: Buffer): void {
    if (link.held !== null) {
      link.held.push(chunk)
      return
    }
    // Bytes buffered before this chunk were forwarded already (a partial reply).
    const before = link.fromServer.length
    link.fromServer = Buffer.concat([link.fromServer, chunk])
    let consumed = 0
    while (true) {
      const trapped = link.trapped
      if (trapped !== null && link.repliesSeen === trapped.index) {
        // Replies before the trapped one go through now.
        const upTo = Math.max(0, consumed - before)
        link.client.write(chunk.subarray(0, upTo))
        link.fromServer = link.fromServer.subarray(consumed)
        link.trapped = null
        if (trapped.trap.delayMs === null) {
          this.#close(link)
          trapped.trap.done()
          return
        }
        // Hold the rest (the trapped reply and whatever follows) for delayMs, then replay it in order.
        link.held = [chunk.subarray(upTo)]
        link.fromServer = Buffer.alloc(0)
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          const heldOut = link.heldOut
          link.heldOut = null
          if (heldOut !== null) {
            // Thaw the client: what it sent meanwhile goes out, through the normal path.
            for (const out of heldOut) link.client.emit('data', out)
          }
          const held = link.held ?? []
          link.held = null
          link.repliesSeen++
          // Count the trapped reply itself, then feed everything through the normal path.
          const data = Buffer.concat(held)
          const len = frameLength(data)
          if (len < 0 || !this.#links.has(link)) {
            trapped.trap.done()
            return
          }
          link.client.write(data.subarray(0, len))
          trapped.trap.done()
          if (data.length > len) this.#fromServer(link, data.subarray(len))
        }, trapped.trap.delayMs)
        this.#timers.add(timer)
        return
      }
      const len = frameLength(link.fromServer, consumed)
      if (len < 0) break
      // RESP3 push messages ('>') are not replies to a command.
      if (link.fromServer[consumed] !== 0x3e) link.repliesSeen++
      consumed += len
    }
    link.fromServer = link.fromServer.subarray(consumed)
    link.client.write(chunk)
  }

  #close (link: Link): void {
    if (!this.#links.delete(link)) return
    link.client.destroy()
    link.server.destroy()
  }
}
