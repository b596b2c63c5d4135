// A software WebAuthn authenticator written from the spec (W3C WebAuthn L3 §6.1 authenticator
// data, §6.5.4 COSE keys, §8.7 "none" attestation), so counter and flag tests are deterministic.
// ES256 only: authenticatorData = rpIdHash | flags | signCount [| attested credential data];
// signature = ECDSA-SHA-256 over authenticatorData || SHA-256(clientDataJSON), DER-encoded.
import { encodeBase64url, utf8 } from '../../../src/lib/encoding.ts';

type CBOR = number | string | Uint8Array | Map<CBOR, CBOR>;

function head(major: number, length: number): number[] {
  if (length < 24) return [(major << 5) | length];
  if (length < 256) return [(major << 5) | 24, length];
  return [(major << 5) | 25, length >> 8, length & 0xff];
}

/** The CBOR subset COSE keys and attestation objects need (RFC 8949 §3.1). */
export function encodeCBOR(value: CBOR): Uint8Array {
  const out: number[] = [];
  const write = (v: CBOR): void => {
    if (typeof v === 'number') out.push(...(v >= 0 ? head(0, v) : head(1, -1 - v)));
    else if (typeof v === 'string') {
      const bytes = utf8.encode(v);
      out.push(...head(3, bytes.length), ...bytes);
    } else if (v instanceof Uint8Array) out.push(...head(2, v.length), ...v);
    else {
      out.push(...head(5, v.size));
      for (const [key, item] of v) {
        write(key);
        write(item);
      }
    }
  };
  write(value);
  return new Uint8Array(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));
}

/** Raw r||s (WebCrypto) to the DER SEQUENCE of two INTEGERs WebAuthn expects for ES256. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if (body[0]! & 0x80) body = concat(new Uint8Array([0]), body);
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const body = concat(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

function counterBytes(counter: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, counter);
  return bytes;
}

export interface CeremonyOptions {
  origin: string;
  /** Defaults to true: a passkey with user verification (PIN, biometric). */
  userVerified?: boolean;
}

export class SoftwareAuthenticator {
  counter = 0;
  readonly credentialId = crypto.getRandomValues(new Uint8Array(16));

  private readonly keys: CryptoKeyPair;
  readonly rpId: string;

  private constructor(keys: CryptoKeyPair, rpId: string) {
    this.keys = keys;
    this.rpId = rpId;
  }

  static async create(rpId: string): Promise<SoftwareAuthenticator> {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    return new SoftwareAuthenticator(keys, rpId);
  }

  get id(): string {
    return encodeBase64url(this.credentialId);
  }

  private async authData(flags: number, attested?: Uint8Array): Promise<Uint8Array> {
    const rpIdHash = await sha256(utf8.encode(this.rpId));
    return concat(
      rpIdHash,
      new Uint8Array([flags]),
      counterBytes(this.counter),
      attested ?? new Uint8Array(),
    );
  }

  private flags(options: CeremonyOptions): number {
    return FLAG_UP | (options.userVerified === false ? 0 : FLAG_UV);
  }

  /** navigator.credentials.create()'s result as @simplewebauthn/browser sends it. */
  async register(challenge: string, options: CeremonyOptions): Promise<Record<string, unknown>> {
    const jwk = (await crypto.subtle.exportKey('jwk', this.keys.publicKey)) as JsonWebKey;
    const cose = encodeCBOR(
      new Map<CBOR, CBOR>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [
          -2,
          Uint8Array.from(atob(jwk.x!.replace(/-/g, '+').replace(/_/g, '/')), (c) =>
            c.charCodeAt(0),
          ),
        ],
        [
          -3,
          Uint8Array.from(atob(jwk.y!.replace(/-/g, '+').replace(/_/g, '/')), (c) =>
            c.charCodeAt(0),
          ),
        ],
      ]),
    );
    const attested = concat(
      new Uint8Array(16),
      new Uint8Array([0, this.credentialId.length]),
      this.credentialId,
      cose,
    );
    const authData = await this.authData(this.flags(options) | FLAG_AT, attested);
    const attestationObject = encodeCBOR(
      new Map<CBOR, CBOR>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = utf8.encode(
      JSON.stringify({
        type: 'webauthn.create',
        challenge,
        origin: options.origin,
        crossOrigin: false,
      }),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: encodeBase64url(clientDataJSON),
        attestationObject: encodeBase64url(attestationObject),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get()'s result; the counter moves forward first, as a real one's does. */
  async assert(
    challenge: string,
    userHandle: string,
    options: CeremonyOptions & { counter?: number },
  ): Promise<Record<string, unknown>> {
    this.counter = options.counter ?? this.counter + 1;
    const authData = await this.authData(this.flags(options));
    const clientDataJSON = utf8.encode(
      JSON.stringify({
        type: 'webauthn.get',
        challenge,
        origin: options.origin,
        crossOrigin: false,
      }),
    );
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(
      await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        this.keys.privateKey,
        signed as BufferSource,
      ),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: encodeBase64url(clientDataJSON),
        authenticatorData: encodeBase64url(authData),
        signature: encodeBase64url(derSignature(raw)),
        userHandle,
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
