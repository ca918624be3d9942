/**
 * Stands in for **the AWS endpoints**: one HTTP endpoint (LocalStack's convention) that tells services apart
 * by the request's SigV4 scope and `X-Amz-Target`, answers the ones the platform emulates itself and
 * forwards the rest to the emulator (aws-json.ts: the AWS JSON protocol those APIs share).
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as controlPlaneHandler } from '../../workflow-tasks/control-plane/handler';
import { LocalArchive } from '../s3/archive';
import { LocalSecrets } from '../secretsmanager/secrets';
import type { LocalEventBus } from '../events/api';
import type { LocalStepFunctionsApi } from '../stepfunctions/api';
import type { LocalFunctions } from '../lambda/functions';
import {
  aliasWriteFunction,
  isAliasWrite,
  versionRequest,
  type DeletedVersions,
  type VersionRequest,
} from '../lambda/deleted-versions';
import { CONTROL_PLANE_PATH, LOCAL_ACCOUNT } from '../account';
import { LoopbackServer, readBody } from '../http';
import { errorResponse, RdsError, type LocalRds } from '../rds/instances';
import type { LocalSaasManager } from '../cloudfront/saas-manager';
import { saasOperationOf, type SaasRequest } from '../cloudfront/wire';
import { sendAccessDenied, type LocalIam } from '../iam/enforcer';
import { UncheckableRequest } from '../iam/operations';
import { principalOf } from '../iam/principal';
import { EMULATOR_ACCOUNT_HEADER } from '../emulator/emulator';
import { assumeRole } from '../sts/sessions';
import type { LocalServiceQuotas } from '../servicequotas/quotas';
import { jsonObjectOf, serveAwsJson } from './aws-json';

/** The most a request answered here (not forwarded) may carry. */
const MAX_BODY_BYTES = 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The stand-ins the endpoint answers with from its start. */
export interface StandIns {
  readonly rds: LocalRds;
  /** Objects written to the archive bucket are kept on disk before the write is answered. */
  readonly archive: LocalArchive;
  /** So are the tenants' secrets. */
  readonly secrets: LocalSecrets;
  /** CloudFront's distribution tenants, which the emulator does not have. */
  readonly saasManager: LocalSaasManager;
  /** The AWS quotas the platform counts against, which the emulator does not have. */
  readonly serviceQuotas: LocalServiceQuotas;
  /** Lambda versions deleted here, in front of moto (lambda/deleted-versions.ts); absent for another emulator. */
  readonly deletedVersions?: DeletedVersions;
}

/** The platform's own services behind the endpoint, attached once the platform exists. */
interface Services {
  readonly stepFunctions: LocalStepFunctionsApi;
  readonly events: LocalEventBus;
  readonly functions: LocalFunctions;
  /** Authorizes the task Lambdas' requests; absent, nothing is checked (`tenantctl up --iam off`). */
  readonly iam?: LocalIam;
}

/**
 * Where the endpoint's time went since it started, summed over requests (which overlap): forwarding to the
 * emulator, and checking IAM. A benchmark reads it before and after an onboarding to tell their share.
 */
export interface EndpointTimes {
  emulatorCalls: number;
  emulatorMs: number;
  iamMs: number;
}

/**
 * The local platform's one AWS endpoint (LocalStack's convention: `AWS_ENDPOINT_URL`, default port 4566).
 * It tells services apart as AWS does, by the service name in the request's SigV4 credential scope and the
 * `X-Amz-Target` header, and answers:
 * - Step Functions and EventBridge PutEvents: the platform's own (stepfunctions/api.ts, events/api.ts); PutEvents also goes on to
 *   the emulator, so rules that it does run (an SQS target) see the event too;
 * - RDS CreateDBInstance / DescribeDBInstances / DeleteDBInstance: instances backed by real PostgreSQL;
 * - Service Quotas, for the AWS quotas placement counts against (servicequotas/quotas.ts);
 * - CloudFront SaaS Manager (distribution tenants, their managed certificates, VerifyDnsConfiguration, the
 *   connection group), which the emulator does not have: cloudfront/saas-manager.ts; every other CloudFront
 *   request goes on to the emulator;
 * - Lambda Invoke: the function's deployed code, run locally as the tenant gateway runs it;
 * - in front of moto, the deletion of one Lambda version (lambda/deleted-versions.ts: moto would number a
 *   version twice after one);
 * - writes to the archive bucket and to tenant secrets: forwarded, then kept on disk (s3/, secretsmanager/);
 * - `/control-plane/*` signed for execute-api: the control-plane API's handler (the registry, read-only);
 * - everything else: forwarded unchanged to the AWS emulator.
 * Before any of that, a request made with a task Lambda's role is authorized by IAM (iam/enforcer.ts).
 */
export class LocalAwsEndpoint extends LoopbackServer {
  /** Attached once the platform exists; until then Step Functions and Lambda calls are answered 503. */
  private platform?: Services;
  private readonly spent: EndpointTimes = { emulatorCalls: 0, emulatorMs: 0, iamMs: 0 };
  private readonly emulator: URL;

  constructor(
    emulatorEndpoint: string,
    private readonly standIns: StandIns,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    super();
    this.emulator = new URL(emulatorEndpoint);
  }

  attach(platform: Services): void {
    this.platform = platform;
  }

  /** Where the endpoint's time went so far (a copy). */
  get times(): EndpointTimes {
    return { ...this.spent };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const service = signingService(req);
      const url = new URL(req.url ?? '/', 'http://local');
      const principal = principalOf(req);
      // A session in a cell's account (iam/principal.ts) is that account's, in the emulator too; no caller
      // names the account itself.
      delete req.headers[EMULATOR_ACCOUNT_HEADER];
      if (principal.account !== LOCAL_ACCOUNT) req.headers[EMULATOR_ACCOUNT_HEADER] = principal.account;
      const role = this.platform?.iam ? principal.role : undefined;
      // Read once, for the IAM check and for whatever answers it (an S3 object write is streamed on).
      let read: Buffer | undefined;
      if (role && this.platform?.iam) {
        if (service !== 's3' || (req.method === 'POST' && url.searchParams.has('delete')))
          read = await bodyOf(req);
        const checking = performance.now();
        const denial = await this.platform.iam.authorize(
          { account: principal.account, role },
          {
            service: service ?? '',
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            target,
            headers: req.headers,
            body: read,
          },
        );
        this.spent.iamMs += performance.now() - checking;
        if (denial) {
          this.log(`IAM: ${denial.message}`);
          return sendAccessDenied(res, service ?? '', target, denial.message);
        }
      }
      const body = async () => read ?? (await bodyOf(req));
      if (target === 'AWSEvents.PutEvents') {
        const raw = await body();
        // While the platform starts (its restored tenants' events), no rule of its own can run yet.
        if (!this.platform) return await this.forward(req, raw, res);
        await this.forward(req, raw, undefined);
        return await this.platform.events.handle(req, res, raw);
      }
      if (target.startsWith('AWSStepFunctions.')) {
        const raw = await body();
        if (!this.platform) return starting(res);
        return await this.platform.stepFunctions.handle(req, res, raw);
      }
      if (service === 'sts') {
        const raw = await body();
        const answer = assumeRole(new URLSearchParams(raw.toString('utf8')), principal);
        if (!answer) return await this.forward(req, raw, res);
        return sendText(res, answer.status, 'text/xml', answer.body);
      }
      if (target.startsWith('secretsmanager.')) {
        const raw = await body();
        const secret = LocalSecrets.written(target, raw, principal.account);
        if (secret)
          return await this.forwardThen(req, raw, res, () =>
            secret.deleted ? this.standIns.secrets.forget(secret.name) : this.standIns.secrets.keep(secret),
          );
        return await this.forward(req, raw, res);
      }
      if (service === 'rds') return await this.answerRds(req, res, await body());
      if (target.startsWith('ServiceQuotasV20190624.')) {
        const raw = await body();
        const operations = this.standIns.serviceQuotas.operationsFor(target, jsonObjectOf(raw));
        if (!operations) return await this.forward(req, raw, res);
        return await serveAwsJson(req, res, raw, {
          operations,
          contentType: 'application/x-amz-json-1.1',
          log: this.log,
        });
      }
      const saas =
        service === 'cloudfront'
          ? saasOperationOf(req.method ?? 'GET', url.pathname, url.searchParams)
          : undefined;
      if (saas) return await this.answerSaas(req, res, saas, await body());
      if (url.pathname === CONTROL_PLANE_PATH || url.pathname.startsWith(`${CONTROL_PLANE_PATH}/`))
        return await this.controlPlane(req, res, url, service);
      if (service === 'lambda' && this.standIns.deletedVersions) {
        const method = req.method ?? 'GET';
        if (isAliasWrite(method, url.pathname)) read = await body();
        const versions = versionRequest(method, url, read);
        if (versions && (await this.answerVersions(this.standIns.deletedVersions, versions, req, res, read)))
          return;
      }
      const invoke = INVOKE_PATH.exec(url.pathname);
      if (service === 'lambda' && req.method === 'POST' && invoke) {
        if (!this.platform) return starting(res);
        const ref = decodeURIComponent(invoke[1] ?? '');
        return await this.invoke(
          this.platform.functions,
          res,
          await body(),
          ref,
          url.searchParams.get('Qualifier'),
          req,
          principal.account,
        );
      }
      const aliased = service === 'lambda' ? aliasWriteFunction(req.method ?? '', url.pathname) : undefined;
      if (aliased !== undefined) {
        // Whatever the emulator answered: the next invocation through the alias reads it again.
        const answer = await this.collect(req, await body());
        this.platform?.functions.forgetConfiguration(aliased);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      const archived = service === 's3' ? LocalArchive.writtenKey(req.method, url) : undefined;
      if (archived !== undefined) return await this.forwardAndKeep(req, res, archived, read);
      await this.forward(req, read, res);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: 'ValidationException', message: error.message }));
        return;
      }
      if (error instanceof UncheckableRequest) {
        this.log(`AWS endpoint: ${error.message}`);
        res.writeHead(501, { 'content-type': 'application/json', 'x-amzn-errortype': error.name });
        res.end(JSON.stringify({ __type: error.name, message: error.message, Message: error.message }));
        return;
      }
      this.log(`AWS endpoint: ${(error as Error).message}`);
      if (!res.headersSent)
        sendText(res, 500, 'text/plain', 'The local platform failed to process the request');
      else res.destroy();
    }
  }

  private async answerRds(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const params = new URLSearchParams(raw.toString('utf8'));
    try {
      const answer = await this.standIns.rds.handle(params);
      if (answer === undefined) return await this.forward(req, raw, res);
      sendText(res, 200, 'text/xml', answer);
    } catch (error) {
      if (!(error instanceof RdsError)) throw error;
      sendText(res, error.status, 'text/xml', errorResponse(error));
    }
  }

  private async answerSaas(
    req: IncomingMessage,
    res: ServerResponse,
    saas: SaasRequest,
    raw: Buffer,
  ): Promise<void> {
    const answer = await this.standIns.saasManager.handle(saas, raw, req.headers);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  /**
   * The control-plane API, as its IAM-authorized HTTP API answers: a request not signed for `execute-api`
   * is refused 403 before the handler runs (the signature itself is not checked: the emulator takes any
   * credentials too); a signed one gets the deployed handler's answer.
   */
  private async controlPlane(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    service: string | undefined,
  ): Promise<void> {
    if (service !== 'execute-api') return sendText(res, 403, 'application/json', '{"message":"Forbidden"}');
    const rawPath = url.pathname.slice(CONTROL_PLANE_PATH.length) || '/';
    const answer = await controlPlaneHandler({
      version: '2.0',
      routeKey: '$default',
      rawPath,
      rawQueryString: url.search.slice(1),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      isBase64Encoded: false,
      requestContext: { http: { method: req.method ?? 'GET', path: rawPath } },
    } as unknown as APIGatewayProxyEventV2);
    res.writeHead(answer.statusCode ?? 200, answer.headers as Record<string, string>);
    res.end(answer.body ?? '');
  }

  /**
   * A Lambda request about versions, in front of moto (lambda/deleted-versions.ts): true when answered here,
   * false when it goes on as any other request.
   */
  private async answerVersions(
    deleted: DeletedVersions,
    request: VersionRequest,
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer | undefined,
  ): Promise<boolean> {
    const { name, version } = request;
    if (deleted.isDeleted(name, version)) {
      lambdaError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}:${version ?? ''}`);
      return true;
    }
    if (request.kind === 'names-version') return false;
    if (request.kind === 'delete-function') {
      await this.forwardThen(req, raw, res, () => Promise.resolve(deleted.forget(name)), 204);
      return true;
    }
    if (request.kind === 'list-versions') {
      const answer = await this.emulatorRequest(req, 'GET', req.url ?? '');
      const body = answer.status === 200 ? deleted.listed(name, answer.body) : answer.body;
      res.writeHead(answer.status, { ...answer.headers, 'content-length': body.length });
      res.end(body);
      return true;
    }
    // delete-version: the version must exist, and no alias may point at it.
    const fn = `/2015-03-31/functions/${encodeURIComponent(name)}`;
    const found = await this.emulatorRequest(
      req,
      'GET',
      `${fn}/configuration?Qualifier=${encodeURIComponent(version ?? '')}`,
    );
    if (found.status !== 200) {
      lambdaError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}:${version ?? ''}`);
      return true;
    }
    const aliases = await this.emulatorRequest(req, 'GET', `${fn}/aliases`);
    const { Aliases = [] } = JSON.parse(aliases.body.toString('utf8')) as {
      Aliases?: { Name?: string; FunctionVersion?: string }[];
    };
    const on = Aliases.filter((a) => a.FunctionVersion === version).map((a) => a.Name ?? '');
    if (on.length) {
      lambdaError(
        res,
        409,
        'ResourceConflictException',
        `Unable to delete version because the following aliases reference it: [${on.join(', ')}]`,
      );
      return true;
    }
    deleted.delete(name, version ?? '');
    res.writeHead(204);
    res.end();
    return true;
  }

  /** Lambda's Invoke (RequestResponse, Event, DryRun) with the function's own deployed code. */
  private async invoke(
    functions: LocalFunctions,
    res: ServerResponse,
    raw: Buffer,
    functionRef: string,
    qualifierParam: string | null,
    req: IncomingMessage,
    callerAccount: string,
  ): Promise<void> {
    // A name, `name:qualifier`, or an ARN `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    const parts = functionRef.startsWith('arn:') ? functionRef.split(':').slice(6) : functionRef.split(':');
    const account = functionRef.startsWith('arn:') ? (functionRef.split(':')[4] ?? '') : callerAccount;
    const name = parts[0] ?? '';
    const qualifier = qualifierParam ?? parts[1];
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    let event: unknown;
    try {
      event = raw.length ? (JSON.parse(raw.toString('utf8')) as unknown) : {};
    } catch {
      return lambdaError(
        res,
        400,
        'InvalidRequestContentException',
        'Could not parse request body into json',
      );
    }
    try {
      await functions.configurationOf(name, qualifier, account);
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      return lambdaError(
        res,
        404,
        'ResourceNotFoundException',
        `Function not found: ${functionRef.slice(0, 200)}`,
      );
    }
    if (type === 'DryRun') return sendText(res, 204, 'application/json', '');
    const result = functions.invoke(name, event, qualifier, account);
    if (type === 'Event') {
      result.catch((error: Error) => this.log(`async invoke of ${name}: ${error.message}`));
      return sendText(res, 202, 'application/json', '');
    }
    try {
      const payload = JSON.stringify((await result) ?? null);
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
      res.end(payload);
    } catch (error) {
      const e = error as Error;
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-amz-executed-version': '$LATEST',
        'x-amz-function-error': 'Unhandled',
      });
      res.end(JSON.stringify({ errorType: e.name, errorMessage: e.message }));
    }
  }

  /**
   * Sends the request on to the emulator: the body read already (`raw`) or streamed, the answer piped to
   * `res` (or, without `res`, read and dropped).
   */
  private forward(
    req: IncomingMessage,
    raw: Buffer | undefined,
    res: ServerResponse | undefined,
  ): Promise<void> {
    return this.upstream(req, raw, (answer, resolve, reject) => {
      if (!res) {
        answer.resume();
        answer.once('end', resolve);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.once('end', resolve);
      answer.once('error', reject);
    });
  }

  /**
   * A write to the archive bucket: forwarded, and once the emulator has accepted it (a 200 without an
   * `<Error>`, which CompleteMultipartUpload may send with a 200) the object is kept on disk; only then is
   * the answer passed on, so a write acknowledged is a write kept.
   */
  private forwardAndKeep(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    raw: Buffer | undefined,
  ): Promise<void> {
    return this.forwardThen(req, raw, res, (headers) => {
      const versionId = headers['x-amz-version-id'];
      return this.standIns.archive.keep(key, typeof versionId === 'string' ? versionId : undefined);
    });
  }

  /**
   * Forwards a write; once the emulator has accepted it (a 200 without an `<Error>`, which some calls send
   * with a 200), `accepted` runs, and only then is the answer passed on.
   */
  private async forwardThen(
    req: IncomingMessage,
    raw: Buffer | undefined,
    res: ServerResponse,
    accepted: (headers: IncomingMessage['headers']) => Promise<void>,
    success = 200,
  ): Promise<void> {
    const { status, headers, body } = await this.collect(req, raw);
    if (status === success && !body.includes('<Error>')) await accepted(headers);
    res.writeHead(status, headers);
    res.end(body);
  }

  /** A body-less request of this endpoint's own to the emulator, with the caller's headers (its account). */
  private emulatorRequest(
    req: IncomingMessage,
    method: string,
    path: string,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const headers = { ...req.headers };
    delete headers['content-length'];
    delete headers['content-type'];
    return this.collect({ method, url: path, headers }, Buffer.alloc(0));
  }

  /** Sends a request on to the emulator and reads its whole answer. */
  private async collect(
    req: Pick<IncomingMessage, 'method' | 'url' | 'headers'> & Partial<Pick<IncomingMessage, 'pipe'>>,
    raw: Buffer | undefined,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    let status = 502;
    let headers: IncomingMessage['headers'] = {};
    const chunks: Buffer[] = [];
    await this.upstream(req, raw, (answer, resolve, reject) => {
      status = answer.statusCode ?? 502;
      headers = answer.headers;
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.once('end', resolve);
      answer.once('error', reject);
    });
    return { status, headers, body: Buffer.concat(chunks) };
  }

  private upstream(
    req: Pick<IncomingMessage, 'method' | 'url' | 'headers'> & Partial<Pick<IncomingMessage, 'pipe'>>,
    raw: Buffer | undefined,
    onAnswer: (answer: IncomingMessage, resolve: () => void, reject: (error: Error) => void) => void,
  ): Promise<void> {
    const started = performance.now();
    const counted = new Promise<void>((resolve, reject) => {
      const upstream = request(
        {
          host: this.emulator.hostname,
          port: this.emulator.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => onAnswer(answer, resolve, reject),
      );
      upstream.once('error', reject);
      if (raw) upstream.end(raw);
      else req.pipe?.(upstream);
    });
    return counted.finally(() => {
      this.spent.emulatorCalls += 1;
      this.spent.emulatorMs += performance.now() - started;
    });
  }
}

/** The service a SigV4-signed request is for: `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
function signingService(req: IncomingMessage): string | undefined {
  const authorization = String(req.headers.authorization ?? '');
  return /Credential=[^/,]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization)?.[1];
}

class BodyTooLarge extends Error {
  constructor() {
    super(`Request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
}

/** The body of a request answered here (not forwarded): at most MAX_BODY_BYTES. */
async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (!body) throw new BodyTooLarge();
  return body;
}

function starting(res: ServerResponse): void {
  sendText(res, 503, 'text/plain', 'The local platform is starting');
}

function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
}

/** Lambda's REST-JSON error: the type in `x-amzn-errortype`, the message in the body. */
function lambdaError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ Type: 'User', Message: message }));
}
