// People who sign in with a password: an admin creates, changes, disables them and resets their password (the
// first admin user comes from `npm start`, or is created with the admin token); bureau staff may list them;
// everyone may change their own password (also PUT /session/password), which someone given a password (reset, or
// the first admin's) must do before anything else. Everything is audited, never a password. Disabling someone, a
// new role or firm, or a new password ends their sessions at once, live connections included (sessionsEnded).
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ROLES, type ApiPrincipal, type Registry, type User } from '../../common/registry/registry.ts';
import { audit, requireRole } from '../access.ts';
import { MUST_CHANGE_PASSWORD } from '../auth.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { ErrorBody, Nullable, lit, litOf } from '../schemas.ts';
import { LOGIN_PATTERN, MAX_PASSWORD_LENGTH, passwordProblem, sessionCookie, type SessionPolicy } from '../session.ts';

export const UserBody = Type.Object({
  id: Type.String(), login: Type.String(), displayName: Type.String(), role: litOf(ROLES), firmId: Nullable(Type.String()),
  disabled: Type.Boolean(), createdAt: Type.Integer(), lastLoginAt: Nullable(Type.Integer()), passwordChangedAt: Type.Integer(),
  mustChangePassword: Type.Boolean({ description: 'the password was given to them: until they set their own, only GET /session, PUT /session/password and sign-out answer' }),
});

const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
const UserParams = Type.Object({ userId: Type.String({ pattern: '^u[0-9a-f]{12}$' }) });

export interface UserRouteOptions {
  registry: Registry;
  policy: SessionPolicy;
  /** Called after a user's sessions ended, to close their live connections. */
  sessionsEnded: (userId: string) => void;
}

async function existing(registry: Registry, userId: string): Promise<User> {
  const u = await registry.getUser(userId);
  if (!u) throw new HttpError(404, `user ${userId} not found`);
  return u;
}

function checkPassword(password: string, login: string): void {
  const problem = passwordProblem(password, login);
  if (problem) throw new HttpError(400, problem);
}

const isSelf = (p: ApiPrincipal, userId: string) => p.userId === userId;

export const userRoutes: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, opts) => {
  const { registry, sessionsEnded } = opts;
  await app.register(passwordRoute, opts);

  app.get('/users', {
    schema: { tags: ['users'], summary: 'People who sign in with a password (admin and bureau), by login name', response: { 200: Type.Array(UserBody), 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return registry.listUsers();
  });

  app.post('/users', {
    schema: {
      tags: ['users'], summary: 'Create a user who signs in with a password (admin); the first one with the admin token',
      body: Type.Object({
        login: Type.String({ pattern: LOGIN_PATTERN, description: 'lower-case letters, digits, . _ -' }), displayName: Type.String({ minLength: 1, maxLength: 100 }),
        role: lit(ROLES), firmId: Type.Optional(Type.String({ maxLength: 18 })), password: Password,
        mustChangePassword: Type.Optional(Type.Boolean({ description: 'they must set their own password at first sign-in (default false)' })),
      }, { additionalProperties: false }),
      response: { 201: UserBody, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    const { login, displayName, role, password } = req.body;
    if (role === 'engineer' && !req.body.firmId) throw new HttpError(400, 'an engineer needs firmId');
    checkPassword(password, login);
    const mustChangePassword = req.body.mustChangePassword === true;
    const user = await httpErrors(() => registry.createUser({ login, displayName, role, firmId: req.body.firmId ?? null, password, mustChangePassword }), [[NotFoundError, 400], [ConflictError, 409]]);
    await audit(registry, req.principal, 'user.create', user.id, { login, displayName, role, firmId: user.firmId });
    return reply.code(201).send(user);
  });

  app.get('/users/:userId', {
    schema: { tags: ['users'], summary: 'One user (admin, bureau, or the user themselves)', params: UserParams, response: { 200: UserBody, 404: ErrorBody } },
  }, async (req) => {
    if (!isSelf(req.principal, req.params.userId)) requireRole(req.principal, 'admin', 'bureau');
    return existing(registry, req.params.userId);
  });

  app.patch('/users/:userId', {
    schema: {
      tags: ['users'], summary: 'Change or disable a user (admin); disabling, a new role or firm ends their sessions at once',
      params: UserParams,
      body: Type.Object({
        displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), role: Type.Optional(lit(ROLES)),
        firmId: Type.Optional(Type.String({ maxLength: 18 })), disabled: Type.Optional(Type.Boolean()),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: UserBody, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    const { userId } = req.params;
    if (isSelf(req.principal, userId) && (req.body.disabled === true || (req.body.role !== undefined && req.body.role !== 'admin'))) {
      throw new HttpError(400, 'you may not disable yourself or give up your own admin role; ask another admin');
    }
    const before = await existing(registry, userId);
    const user = await httpErrors(() => registry.updateUser(userId, req.body), [[NotFoundError, 400]]);
    await audit(registry, req.principal, user.disabled && !before.disabled ? 'user.disable' : 'user.update', userId, { login: user.login, changes: req.body });
    if (user.disabled || user.role !== before.role || user.firmId !== before.firmId) sessionsEnded(userId);
    return user;
  });
};

const PasswordBody = Type.Object({ password: Password, currentPassword: Type.Optional(Password) }, { additionalProperties: false });

/** Password changes: an admin's reset of anyone's, and everyone's own (also before anything else when it was given to them). */
const passwordRoute: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, { registry, policy, sessionsEnded }) => {
  /** Sets the password; one's own (with the current one) keeps this browser signed in with a new session. */
  async function setPassword(p: ApiPrincipal, user: User, body: { password: string; currentPassword?: string }, reply: FastifyReply): Promise<void> {
    const self = isSelf(p, user.id);
    checkPassword(body.password, user.login);
    if (self) {
      // Someone at an unattended, signed-in browser must not be able to take the account over.
      const current = body.currentPassword === undefined ? undefined : await registry.checkPassword(user.login, body.currentPassword);
      if (!current?.ok) throw new HttpError(403, 'give your current password as currentPassword');
      if (body.currentPassword === body.password) throw new HttpError(400, 'choose a password other than the current one');
    }
    // A password someone else chose is known to them: its owner must replace it at sign-in.
    await registry.setUserPassword(user.id, body.password, { mustChange: !self });
    await audit(registry, p, self ? 'user.password-change' : 'user.password-reset', user.id, { login: user.login });
    sessionsEnded(user.id);
    if (self) void reply.header('set-cookie', sessionCookie(await registry.createSession(user.id, { absoluteMs: policy.absoluteMs }), policy));
  }

  app.put('/users/:userId/password', {
    config: { beforePasswordChange: true },
    schema: {
      tags: ['users'], summary: 'Set a password: an admin resets anyone\'s (they must change it at sign-in); everyone changes their own (with the current one). Ends the user\'s other sessions',
      params: UserParams, body: PasswordBody,
      response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    const p = req.principal;
    const { userId } = req.params;
    if (!isSelf(p, userId)) {
      if (req.passwordChangeDue) throw new HttpError(403, MUST_CHANGE_PASSWORD);
      requireRole(p, 'admin');
    }
    await setPassword(p, await existing(registry, userId), req.body, reply);
    return reply.code(204).send(null);
  });

  app.put('/session/password', {
    config: { beforePasswordChange: true },
    schema: {
      tags: ['session'], summary: 'Change one\'s own password (the current one first); this browser stays signed in with a new session, the others end',
      body: Type.Object({ currentPassword: Password, password: Password }, { additionalProperties: false }),
      response: { 204: Type.Null(), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
    },
  }, async (req, reply) => {
    const userId = req.principal.userId;
    const user = userId === undefined ? undefined : await registry.getUser(userId);
    if (!user) throw new HttpError(401, 'not signed in with a password (an API token has no password to change)');
    await setPassword(req.principal, user, req.body, reply);
    return reply.code(204).send(null);
  });
};
