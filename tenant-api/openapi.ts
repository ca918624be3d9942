import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import {
  MAX_BODY_BYTES,
  OPERATIONS,
  PATH_PARAMETERS,
  pathParameters,
  problemsOf,
  type HeaderName,
  type Operation,
} from './contract';
import { PROBLEMS, type ProblemType } from './http';
import { problemTypeUri, registry, type OpenApiDocument } from './schemas';

type JsonObject = Record<string, unknown>;

const componentUri = (id: string) => `#/components/schemas/${id}`;

const HEADERS: Record<HeaderName, { description: string; schema: JsonObject }> = {
  Location: { description: 'The path of what was created.', schema: { type: 'string' } },
  'Retry-After': {
    description: 'Seconds to wait before asking again.',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  'WWW-Authenticate': { description: '`Bearer`.', schema: { type: 'string' } },
};

/** The header each problem type is sent with (auth.ts, app.ts). */
const PROBLEM_HEADERS: Partial<Record<ProblemType, HeaderName>> = {
  unauthorized: 'WWW-Authenticate',
  'too-many-attempts': 'Retry-After',
  'tenant-suspended': 'Retry-After',
};

const TAGS = [
  {
    name: 'shop',
    description: 'The tenant’s health and this document: no token needed, answered while suspended.',
  },
  { name: 'auth', description: 'Signing in and changing the password.' },
  { name: 'products', description: 'The catalogue.' },
  { name: 'orders', description: 'Orders: placing one takes stock, cancelling it puts the stock back.' },
];

const DESCRIPTION = `Every tenant's shop API; each tenant has its own host (\`api.<tenant>\`) and database.

Every operation but \`/health\`, \`/openapi.json\` and \`/auth/login\` needs \`Authorization: Bearer <token>\`, a token from \`POST /auth/login\`, valid for one hour and for its own tenant only.

Bodies are JSON (\`content-type: application/json\`, at most ${MAX_BODY_BYTES / 1024} KiB); unknown fields are refused. Errors are \`application/problem+json\` (RFC 9457) as the \`Problem\` schema says: \`type\` is one of the URIs below and never changes meaning, \`field\` names the offending field (\`lines[1].quantity\`). A path no operation has answers 404 \`not-found\`; a method a path does not take answers 405 \`method-not-allowed\` with \`Allow\`.

${(Object.keys(PROBLEMS) as ProblemType[])
  .map((type) => `- \`${type}\` (${PROBLEMS[type].status}): ${PROBLEMS[type].title}`)
  .join('\n')}

\`info.version\` is the first 16 hex digits of the SHA-256 of this document with an empty \`info.version\`: it changes exactly when the contract does.`;

let cached: OpenApiDocument | undefined;

/**
 * The OpenAPI 3.1 document of the tenant API, generated on first use from the operation table (contract.ts)
 * and the zod schemas the handlers validate with (schemas.ts). The same for every tenant.
 */
export function openApiDocument(): OpenApiDocument {
  cached ??= build();
  return cached;
}

function build(): OpenApiDocument {
  const paths: Record<string, JsonObject> = {};
  for (const [operationId, operation] of Object.entries(OPERATIONS) as [string, Operation][])
    (paths[operation.path] ??= {})[operation.method.toLowerCase()] = operationObject(operationId, operation);
  const document = {
    openapi: '3.1.0' as const,
    info: { title: 'Tenant shop API', version: '', description: DESCRIPTION },
    servers: [{ url: '/', description: 'The tenant’s API host.' }],
    security: [{ bearer: [] }],
    tags: TAGS,
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A token from `POST /auth/login` (or `POST /auth/password`).',
        },
      },
    },
  };
  document.info.version = createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 16);
  return document;
}

function operationObject(operationId: string, operation: Operation): JsonObject {
  const parameters = [
    ...pathParameters(operation.path).map((name) => {
      const parameter = PATH_PARAMETERS[name];
      if (!parameter) throw new Error(`${operation.path}: no schema for the path parameter ${name}`);
      const { schema, description } = parameter;
      return { name, in: 'path', required: true, description, schema: inline(schema) };
    }),
    ...Object.entries(operation.query ?? {}).map(([name, { schema, description }]) => ({
      name,
      in: 'query',
      required: false,
      description,
      schema: inline(schema),
    })),
  ];
  const responses: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(operation.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: headers(response.headers.map((h) => [h, true])) } : {}),
      ...(response.schema ? { content: { 'application/json': { schema: ref(response.schema) } } } : {}),
    };
  }
  for (const [status, types] of problemsByStatus(operation)) {
    const sent = types.map((type) => PROBLEM_HEADERS[type]);
    const problem = {
      description: types.map((type) => `\`${type}\`: ${PROBLEMS[type].title}.`).join(' '),
      headers: headers(
        [...new Set(sent)].flatMap((h) => (h ? [[h, sent.every((s) => s === h)] as const] : [])),
      ),
      content: {
        'application/problem+json': {
          schema: {
            $ref: componentUri('Problem'),
            type: 'object',
            properties: { type: { enum: types.map(problemTypeUri) }, status: { const: status } },
          },
        },
      },
    };
    const success = responses[status];
    // A status that is both an answer and a problem (none today) keeps both, by content type.
    responses[status] = success
      ? {
          ...success,
          description: `${String(success.description)} ${problem.description}`,
          content: { ...(success.content as JsonObject), ...problem.content },
        }
      : problem;
  }
  return {
    operationId,
    summary: operation.summary,
    tags: [operation.tag],
    ...(operation.auth ? {} : { security: [] }),
    ...(parameters.length ? { parameters } : {}),
    ...(operation.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(operation.body) } } } }
      : {}),
    responses,
  };
}

function problemsByStatus(operation: Operation): [number, ProblemType[]][] {
  const byStatus = new Map<number, ProblemType[]>();
  for (const type of problemsOf(operation)) {
    const status = PROBLEMS[type].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), type]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}

function headers(names: (readonly [HeaderName, boolean])[]): JsonObject | undefined {
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map(([name, required]) => [name, { ...HEADERS[name], required }]));
}

/** A `$ref` to a schema registered with an id: request and response bodies are always named. */
function ref(schema: z.ZodMiniType): JsonObject {
  const id = registry.get(schema)?.id;
  if (!id) throw new Error('a request or response body schema must be registered with an id (schemas.ts)');
  return { $ref: componentUri(id) };
}

/** A parameter's schema, written out. */
function inline(schema: z.ZodMiniType): JsonObject {
  const json = { ...(z.toJSONSchema(schema, { metadata: registry, override: tidy }) as JsonObject) };
  delete json.$schema;
  return json;
}

/** Every schema registered with an id, each `$ref`ing the others by `#/components/schemas/<id>`. */
function componentSchemas(): Record<string, JsonObject> {
  const { schemas } = z.toJSONSchema(registry, { uri: componentUri, metadata: registry, override: tidy });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      // Each is emitted as a document of its own; inside this one, its place is its id.
      const json = { ...(schema as JsonObject) };
      delete json.$schema;
      delete json.$id;
      return [id, json];
    }),
  );
}

/** zod writes its own date-time regex beside `format: date-time`: the format says it, readably. */
function tidy({ jsonSchema }: { jsonSchema: JsonObject }): void {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
}
