// A minimal HTTP CONNECT proxy on 127.0.0.1 that records every tunnel target and pipes bytes.
//
//   const proxy = await startConnectProxy();   // after(() => proxy.close());
//   env: { HTTPS_PROXY: proxy.url }
//   proxy.connects   -> ['localhost:8443', ...]   (CONNECT targets, in order)
//   proxy.plain      -> ['GET http://...', ...]    (non-CONNECT requests; answered 501)
import http from 'node:http';
import net from 'node:net';

export async function startConnectProxy() {
  const connects = [];
  const plain = [];
  const sockets = new Set();
  const track = (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); };

  const server = http.createServer((req, res) => {
    plain.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(501, { 'content-type': 'text/plain', connection: 'close' });
    res.end('this test proxy only speaks CONNECT\n');
  });
  server.on('connection', track);
  server.on('connect', (req, client, head) => {
    connects.push(req.url);
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url);
    if (!m) {
      client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(m[2]), m[1]);
    track(upstream);
    let established = false;
    upstream.once('connect', () => {
      established = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head?.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (!established && !client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => { if (established) client.destroy(); });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connects,
    plain,
    reset() { connects.length = 0; plain.length = 0; },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
