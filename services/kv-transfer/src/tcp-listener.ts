/**
 * The receiver's one socket listener (127.0.0.1 by default, an ephemeral port), shared by all its
 * TCP transfers: each frame names its transfer, and the listener routes it to that session.
 * Frames for an unknown (finished or never accepted) transfer are dropped.
 */
import * as net from 'node:net';
import { wire, type KvChunk } from '@duet/core';
import { FrameDecoder } from './tcp-framing.ts';

interface Route {
  onChunk: (chunk: KvChunk) => void;
  onError: (err: unknown) => void;
}

export class TcpKvListener {
  private server: net.Server | null = null;
  private starting: Promise<string> | null = null;
  private readonly routes = new Map<string, Route>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly host: string,
    private readonly maxFrameBytes: number,
  ) {}

  /** Starts listening on first use; resolves with "host:port". */
  address(): Promise<string> {
    this.starting ??= new Promise<string>((resolve, reject) => {
      const server = net.createServer((socket) => this.onConnection(socket));
      server.once('error', reject);
      server.listen(0, this.host, () => {
        const a = server.address() as net.AddressInfo;
        resolve(`${this.host}:${a.port}`);
      });
      this.server = server;
    });
    return this.starting;
  }

  register(transferId: string, route: Route): () => void {
    this.routes.set(transferId, route);
    return () => this.routes.delete(transferId);
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let last: string | null = null;
    socket.on('data', (data: Buffer) => {
      try {
        for (const frame of decoder.push(data)) this.route(wire.kvChunk.decode(frame), (id) => (last = id));
      } catch (err) {
        if (last) this.routes.get(last)?.onError(err);
        socket.destroy();
      }
    });
    socket.on('error', (err) => {
      if (last) this.routes.get(last)?.onError(err);
    });
    socket.on('close', () => this.sockets.delete(socket));
  }

  private route(chunk: KvChunk, seen: (id: string) => void): void {
    seen(chunk.transferId);
    this.routes.get(chunk.transferId)?.onChunk(chunk);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
