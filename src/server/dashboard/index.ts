// The dashboard: server-rendered pages at /, signed in with an API key, with security headers, CSRF and login limits.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../../errors/index.js';
import { liveKeyAccess } from '../../storage/dashboard-access.js';
import type { Database } from '../../storage/db.js';
import { assetRoutes } from './assets.js';
import { html, page } from './html.js';
import { messagePages } from './messages.js';
import { outboxPages, type OutboxReader } from './outbox.js';
import { overviewPage } from './overview.js';
import { queuePages } from './queue.js';
import { createSessionCodec, SESSION_COOKIE, type Session, type SessionCodec } from './session.js';
import { signInRoutes } from './sign-in.js';

export type { OutboxReader } from './outbox.js';

export interface DashboardOptions {
  /** Key of the session cookie's HMAC (see session.ts). */
  sessionSecret: Buffer;
  /** PUBLIC_URL is https: the cookie is `Secure` and browsers are told to stay on https. */
  secure: boolean;
  /** First-run mode (no SMTP_URL): the local outbox, read through main/. */
  outbox?: OutboxReader | undefined;
  /** Sign-in attempts per minute and client address. */
  loginAttemptsPerMinute?: number;
}

export interface DashboardContext {
  db: Database;
  sessions: SessionCodec;
  options: DashboardOptions;
}

/** What a signed-in request carries. */
export interface Viewer {
  accountId: number;
  accountName: string;
  session: Session;
  csrf: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer | undefined;
  }
}

/** The viewer of a signed-in page; the auth hook guarantees it on every route but sign-in and assets. */
export function viewerOf(request: FastifyRequest): Viewer {
  if (request.viewer === undefined) throw new Error('dashboard route reached without a session');
  return request.viewer;
}

/** 403 unless the form carries the session's CSRF token. */
export function requireCsrf(ctx: DashboardContext, request: FastifyRequest, reply: FastifyReply): boolean {
  const viewer = viewerOf(request);
  const token = (request.body as Record<string, unknown> | undefined)?._csrf;
  if (ctx.sessions.checkCsrf(viewer.session, token)) return true;
  void reply
    .status(403)
    .type('text/html; charset=utf-8')
    .send(page({ title: 'Refused' }, html`<p class="error">This form has expired or did not come from this dashboard. Go back, reload and try again.</p>`));
  return false;
}

const PUBLIC_PATHS = /^\/(login|assets\/)/;

export async function dashboardRoutes(app: FastifyInstance, db: Database, options: DashboardOptions): Promise<void> {
  const ctx: DashboardContext = { db, sessions: createSessionCodec(options.sessionSecret), options };

  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(rateLimit, { global: false });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // Only our own files: uPlot vendored from node_modules and the dashboard's script; no inline script.
        scriptSrc: ["'self'"],
        // uPlot positions its cursor and legend with inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameSrc: ["'self'"],
        frameAncestors: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        ...(options.secure ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: options.secure,
    referrerPolicy: { policy: 'same-origin' },
  });

  app.decorateRequest('viewer', undefined);
  app.addHook('preHandler', async (request, reply) => {
    if (PUBLIC_PATHS.test(request.url)) return;
    const session = ctx.sessions.read(request.cookies[SESSION_COOKIE]);
    const access = session === undefined ? undefined : await liveKeyAccess(db.pool, session.keyId);
    if (session === undefined || access === undefined) {
      if (session !== undefined) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/login', 303);
    }
    request.viewer = { accountId: access.accountId, accountName: access.accountName, session, csrf: ctx.sessions.csrfToken(session) };
    void reply.header('cache-control', 'private, no-store');
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = isAppError(error) ? error.status : (error.statusCode ?? 500);
    if (status >= 500) request.log.error({ err: error }, 'dashboard request failed');
    const message = status >= 500 ? 'Something went wrong on the server; the log has the details.' : isAppError(error) ? error.userMessage : error.message;
    const viewer = request.viewer;
    return reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(page({ title: 'Error', ...(viewer ? { account: viewer.accountName, csrf: viewer.csrf } : {}) }, html`<p class="error" role="alert">${message}</p>`));
  });

  assetRoutes(app);
  signInRoutes(app, ctx);
  overviewPage(app, ctx);
  messagePages(app, ctx);
  queuePages(app, ctx);
  outboxPages(app, ctx);
}
