// Throwaway PKI for TLS tests, made with the `openssl` CLI in a temp dir (EC P-256, valid 2 days).
//
//   const pki = makeTestPki();          // after(() => pki.cleanup());
//   pki.caFile                          // CA certificate (PEM file), e.g. for SSL_CERT_FILE
//   pki.server  -> {key, cert}          // PEM strings; SAN DNS:localhost, IP:127.0.0.1
//   pki.wrongHost -> {key, cert}        // same CA, SAN DNS:wrong-host.invalid only
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function openssl(args, cwd) {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

/** A CA-signed leaf certificate for `san` (e.g. 'DNS:localhost,IP:127.0.0.1'); returns {key, cert} PEM strings. */
function issue(dir, name, san) {
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${san}`,
    '',
  ].join('\n'));
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', ext, '-out', `${name}.pem`], dir);
  return {
    key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'),
    cert: fs.readFileSync(path.join(dir, `${name}.pem`), 'utf8'),
    certFile: path.join(dir, `${name}.pem`),
  };
}

export function makeTestPki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-pki-'));
  const caExt = path.join(dir, 'ca.cnf');
  // A self-contained config so that the system openssl.cnf cannot add or duplicate extensions.
  fs.writeFileSync(caExt, [
    '[req]',
    'distinguished_name = dn',
    'x509_extensions = v3_ca',
    'prompt = no',
    '[dn]',
    'CN = baton integration test CA',
    '[v3_ca]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n'));
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-config', caExt, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-sha256'], dir);
  const server = issue(dir, 'localhost', 'DNS:localhost, IP:127.0.0.1');
  const wrongHost = issue(dir, 'wrong-host', 'DNS:wrong-host.invalid');
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    server,
    wrongHost,
    cleanup() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
}
