// Sign in with an API key (rate limited), sign out (CSRF-protected).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { findKeyAccess } from '../../storage/dashboard-access.js';
import { html, page } from './html.js';
import { requireCsrf, type DashboardContext } from './index.js';
import { SESSION_COOKIE, SESSION_TTL_SECONDS } from './session.js';

function signInPage(reply: FastifyReply, status: number, error?: string): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      page(
        { title: 'Sign in' },
        html`<section class="signin">
  <h1>Sign in</h1>
  <p>Use an API key of your account (<code>beacon keys create</code> makes one).</p>
  ${error === undefined ? '' : html`<p class="error" role="alert">${error}</p>`}
  <form method="post" action="/login">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="current-password" required maxlength="200" autofocus>
    <button type="submit">Sign in</button>
  </form>
</section>`,
      ),
    );
}

export function signInRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { sessions, options, db } = ctx;
  app.get('/login', async (_request, reply) => signInPage(reply, 200));

  app.post(
    '/login',
    {
      config: {
        rateLimit: {
          max: options.loginAttemptsPerMinute ?? 10,
          timeWindow: 60_000,
          errorResponseBuilder: () =>
            Object.assign(new Error('Too many sign-in attempts from your address; wait a minute and try again.'), { statusCode: 429 }),
        },
      },
    },
    async (request, reply) => {
      const key = (request.body as Record<string, unknown> | undefined)?.key;
      const access = typeof key === 'string' && key.trim() !== '' && key.length <= 200 ? await findKeyAccess(db.pool, key.trim()) : undefined;
      if (access === undefined) {
        request.log.warn({ source: 'security', ip: request.ip }, 'dashboard sign-in with an unknown or revoked API key');
        return signInPage(reply, 401, 'That API key is not valid: it is unknown or has been revoked.');
      }
      const { cookie } = sessions.issue(access.keyId);
      return reply
        .setCookie(SESSION_COOKIE, cookie, { path: '/', httpOnly: true, sameSite: 'strict', secure: options.secure, maxAge: SESSION_TTL_SECONDS })
        .redirect('/', 303);
    },
  );

  app.post('/logout', async (request, reply) => {
    if (!requireCsrf(ctx, request, reply)) return reply;
    return reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: options.secure }).redirect('/login', 303);
  });
}
