import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the API returns as AWS does: HTTP 400 (or `status`) with `__type` and `message`. */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type Body = Record<string, unknown>;
/** One operation of an AWS JSON API: the request body in, the response body out. */
export type Operation = (body: Body) => Promise<Body>;

/**
 * Answers one AWS JSON protocol request (`X-Amz-Target: <Service>.<Operation>`) whose body (`raw`) the AWS
 * endpoint has read: the operation's result with 200, an ApiError as AWS sends it, anything else as a 500
 * that says nothing of the cause (which goes to `log`).
 */
export async function serveAwsJson(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  api: {
    readonly operations: Record<string, Operation>;
    /** `application/x-amz-json-1.0` (Step Functions) or `-1.1` (EventBridge). */
    readonly contentType: string;
    readonly log: (line: string) => void;
  },
): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const requestId = randomUUID();
  const send = (status: number, body: Body) => {
    res.writeHead(status, { 'content-type': api.contentType, 'x-amzn-requestid': requestId });
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method !== 'POST') throw new ApiError('UnknownOperationException', 'Only POST is supported', 404);
    const operation = api.operations[target];
    if (!operation)
      throw new ApiError('UnknownOperationException', `Unknown operation ${target.slice(0, 100)}`);
    send(200, await operation(readJson(raw)));
  } catch (error) {
    if (error instanceof ApiError) {
      send(error.status, { __type: error.type, message: error.message });
    } else {
      api.log(`${target}: ${(error as Error).message}`);
      send(500, { __type: 'InternalFailure', message: 'The local platform failed to process the request' });
    }
  }
}

/** The request body as a JSON object, or an empty one when it is not one (for routing, not answering). */
export function jsonObjectOf(raw: Buffer): Body {
  try {
    return readJson(raw);
  } catch {
    return {};
  }
}

function readJson(raw: Buffer): Body {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Body;
  } catch {
    // fall through
  }
  throw new ApiError('SerializationException', 'The request body is not a JSON object');
}
