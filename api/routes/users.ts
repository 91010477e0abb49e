// People who sign in with a password: an admin creates, changes, disables them and resets their password (the
// first admin user is created this way with the admin token); bureau staff may list them; everyone may change
// their own password. Everything is audited, never a password. Disabling someone, a new role or firm, or a new
// password ends their sessions at once, live connections included (sessionsEnded).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ROLES, type ApiPrincipal, type Registry, type User } from '../../common/registry/registry.ts';
import { audit, requireRole } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { ErrorBody, Nullable, lit, litOf } from '../schemas.ts';
import { LOGIN_PATTERN, MAX_PASSWORD_LENGTH, passwordProblem, sessionCookie, type SessionPolicy } from '../session.ts';

export const UserBody = Type.Object({
  id: Type.String(), login: Type.String(), displayName: Type.String(), role: litOf(ROLES), firmId: Nullable(Type.String()),
  disabled: Type.Boolean(), createdAt: Type.Integer(), lastLoginAt: Nullable(Type.Integer()), passwordChangedAt: Type.Integer(),
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
      }, { additionalProperties: false }),
      response: { 201: UserBody, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    const { login, displayName, role, password } = req.body;
    if (role === 'engineer' && !req.body.firmId) throw new HttpError(400, 'an engineer needs firmId');
    checkPassword(password, login);
    const user = await httpErrors(() => registry.createUser({ login, displayName, role, firmId: req.body.firmId ?? null, password }), [[NotFoundError, 400], [ConflictError, 409]]);
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

const passwordRoute: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, { registry, policy, sessionsEnded }) => {
  app.put('/users/:userId/password', {
    schema: {
      tags: ['users'], summary: 'Set a password: an admin resets anyone\'s; everyone changes their own (with the current one). Ends the user\'s other sessions',
      params: UserParams,
      body: Type.Object({ password: Password, currentPassword: Type.Optional(Password) }, { additionalProperties: false }),
      response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    const p = req.principal;
    const { userId } = req.params;
    const self = isSelf(p, userId);
    if (!self) requireRole(p, 'admin');
    const user = await existing(registry, userId);
    checkPassword(req.body.password, user.login);
    if (self) {
      // Someone at an unattended, signed-in browser must not be able to take the account over.
      const current = req.body.currentPassword === undefined ? undefined : await registry.checkPassword(user.login, req.body.currentPassword);
      if (!current?.ok) throw new HttpError(403, 'give your current password as currentPassword');
    }
    await registry.setUserPassword(userId, req.body.password);
    await audit(registry, p, self ? 'user.password-change' : 'user.password-reset', userId, { login: user.login });
    sessionsEnded(userId);
    // Changing one's own password keeps this browser signed in, with a new session.
    if (self) void reply.header('set-cookie', sessionCookie(await registry.createSession(userId, { absoluteMs: policy.absoluteMs }), policy));
    return reply.code(204).send(null);
  });
};
