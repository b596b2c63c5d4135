// A real SMTP server on loopback for the test suite and `npm run dev`: accepts mail (smtp-server),
// parses each message (mailparser) into an inbox, and can be told to go down, to refuse some
// recipients with a permanent 5xx or a transient 4xx, and to check AUTH against one known login.
// Plain SMTP only: workerd verifies TLS certificates, and a loopback test needs none.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  envelopeFrom: string;
  /** The From header as written. */
  from: string;
  /** The username the client authenticated as, or null. */
  user: string | null;
  subject: string;
  text: string;
  html: string;
  /** Header names lower-cased; repeated headers joined with `\n`. */
  headers: Record<string, string>;
  /** The message as received (RFC 5322 text). */
  raw: string;
  receivedAt: string;
}

export interface AuthAttempt {
  username: string;
  accepted: boolean;
}

export interface SMTPStackOptions {
  /** Advertise AUTH (PLAIN, LOGIN). Off: no AUTH offered, none needed (the dev stack). */
  auth?: boolean;
  /** Called for each accepted message (the dev stack saves it). */
  onMail?: (mail: ReceivedMail) => void | Promise<void>;
  /** Also serve the HTTP control endpoint (tests). */
  control?: boolean;
}

export interface SMTPStack {
  host: string;
  port: number;
  /** The control endpoint's base URL (with `control: true`), else null. */
  controlURL: string | null;
  inbox: ReceivedMail[];
  authAttempts: AuthAttempt[];
  /** Stop accepting connections (the port is closed) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Refuse these recipients at RCPT TO with `code` (5xx permanent, 4xx transient). */
  reject(recipients: string[], code: number): void;
  /** This username is accepted with this password only (535 otherwise); other names as before. */
  requireAuth(login: { username: string; password: string }): void;
  /** Another listener on its own port, same inbox and rules: a server a test may take down alone. */
  addListener(): Promise<number>;
  /** `down`/`up` for a listener added with `addListener` (by port). */
  downAt(port: number): Promise<void>;
  upAt(port: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

export async function startSMTPServer(options: SMTPStackOptions = {}): Promise<SMTPStack> {
  const inbox: ReceivedMail[] = [];
  const authAttempts: AuthAttempt[] = [];
  const rejected = new Map<string, number>();
  const logins = new Map<string, string>();

  const authenticate = (
    auth: SMTPServerAuthentication,
    _session: SMTPServerSession,
    callback: (error: Error | null | undefined, response?: { user: string }) => void,
  ): void => {
    const username = auth.username ?? '';
    const expected = logins.get(username);
    const accepted = expected === undefined || auth.password === expected;
    authAttempts.push({ username, accepted });
    if (!accepted)
      callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
    else callback(null, { user: username });
  };

  const listen = async (port: number): Promise<SMTPServer> => {
    const instance = new SMTPServer({
      secure: false,
      disabledCommands: options.auth === true ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: true,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      closeTimeout: 100,
      size: 10 * 1024 * 1024,
      onAuth: authenticate,
      onRcptTo(address, _session, callback) {
        const code = rejected.get(address.address.toLowerCase());
        if (code === undefined) return callback();
        const text = code >= 500 ? '5.1.1 Recipient refused' : '4.3.0 Try again later';
        callback(Object.assign(new Error(text), { responseCode: code }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw)
            .then(async (parsed) => {
              const headers: Record<string, string> = {};
              for (const { key, line } of parsed.headerLines) {
                const value = line.slice(line.indexOf(':') + 1).trim();
                headers[key] = headers[key] === undefined ? value : `${headers[key]}\n${value}`;
              }
              const mail: ReceivedMail = {
                to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
                envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                from: parsed.from?.text ?? '',
                user: typeof session.user === 'string' ? session.user : null,
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                headers,
                raw: raw.toString('utf8'),
                receivedAt: new Date().toISOString(),
              };
              inbox.push(mail);
              await options.onMail?.(mail);
              callback();
            })
            .catch((error: unknown) => callback(error as Error));
        });
      },
    });
    instance.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      instance.server.once('error', reject);
      instance.listen(port, LOOPBACK, () => resolve());
    });
    return instance;
  };

  /** Listeners by port; null while down. */
  const listeners = new Map<number, SMTPServer | null>();
  const downAt = async (port: number): Promise<void> => {
    const instance = listeners.get(port) ?? null;
    listeners.set(port, null);
    if (instance !== null) await new Promise<void>((resolve) => instance.close(() => resolve()));
  };
  const upAt = async (port: number): Promise<void> => {
    if (listeners.get(port) === null) listeners.set(port, await listen(port));
  };
  const addListener = async (): Promise<number> => {
    const instance = await listen(0);
    const port = (instance.server.address() as AddressInfo).port;
    listeners.set(port, instance);
    return port;
  };
  const port = await addListener();
  const down = (): Promise<void> => downAt(port);

  const stack: SMTPStack = {
    host: LOOPBACK,
    port,
    controlURL: null,
    inbox,
    authAttempts,
    down,
    up: () => upAt(port),
    addListener,
    downAt,
    upAt,
    reject(recipients, code) {
      for (const address of recipients) rejected.set(address.toLowerCase(), code);
    },
    requireAuth(value) {
      logins.set(value.username, value.password);
    },
    reset() {
      inbox.length = 0;
      authAttempts.length = 0;
      rejected.clear();
      logins.clear();
    },
    close: async () => {
      for (const each of [...listeners.keys()]) await downAt(each);
    },
  };

  if (options.control === true) {
    const http = await startControl(stack);
    const address = http.address() as AddressInfo;
    stack.controlURL = `http://${LOOPBACK}:${address.port}`;
    const closeListeners = stack.close;
    stack.close = async () => {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await closeListeners();
    };
  }
  return stack;
}

/**
 * The tests' handle on the server (workerd cannot reach Node objects): JSON over HTTP.
 *   GET  /inbox[?to=address]       received mail, oldest first
 *   POST /down, POST /up {port?}   close an SMTP port, open it again (default: the main one)
 *   POST /listeners                {port}: another listener (same inbox) a test may take down
 *   POST /reject {recipients, code}
 *   POST /auth {username, password}   this username needs this password (others: any)
 *   GET  /auth-attempts            [{username, accepted}]
 *   POST /reset                    empty inbox and attempts, no refusals, any login
 */
async function startControl(stack: SMTPStack): Promise<Server> {
  const http = createServer((req, res) => {
    handle(stack, req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, LOOPBACK, () => resolve()));
  return http;
}

async function handle(stack: SMTPStack, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString()) as never);
  const reply = (value: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value ?? null));
  };
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  if (route === 'GET /inbox') {
    const to = url.searchParams.get('to')?.toLowerCase();
    return reply(to === undefined ? stack.inbox : stack.inbox.filter((m) => m.to.includes(to)));
  }
  if (route === 'GET /auth-attempts') return reply(stack.authAttempts);
  const at = (body as { port?: number }).port;
  if (route === 'POST /down')
    return reply(await (at === undefined ? stack.down() : stack.downAt(at)));
  if (route === 'POST /up') return reply(await (at === undefined ? stack.up() : stack.upAt(at)));
  if (route === 'POST /listeners') return reply({ port: await stack.addListener() });
  if (route === 'POST /reset') return reply(stack.reset());
  if (route === 'POST /reject') {
    const { recipients, code } = body as { recipients: string[]; code: number };
    return reply(stack.reject(recipients, code));
  }
  if (route === 'POST /auth') {
    return reply(stack.requireAuth(body as { username: string; password: string }));
  }
  res.writeHead(404);
  res.end();
}
