import type { User } from './auth';
import type { Operation } from './contract';
import type { ApiRequest, ApiResponse } from './http';
import type { Tenant } from './tenant';

export type RouteHandler = (tenant: Tenant, req: ApiRequest, user: User) => Promise<ApiResponse>;

/** An operation of the contract (contract.ts) and the handler that answers it. */
export interface Route {
  readonly operation: Operation;
  readonly handle: RouteHandler;
}

interface Compiled extends Route {
  readonly pattern: RegExp;
}

export type Match =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/** A route table: the first route whose path and method match wins. */
export class Router {
  private readonly routes: Compiled[];

  constructor(routes: Route[]) {
    this.routes = routes.map((route) => ({
      ...route,
      pattern: new RegExp(
        `^${route.operation.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)').replace(/\//g, '\\/')}\\/?$`,
      ),
    }));
  }

  match(method: string, path: string): Match {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      if (route.operation.method === method) return { kind: 'route', route, params: { ...found.groups } };
      allowed.push(route.operation.method);
    }
    return allowed.length ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}
