import type { PoolClient } from 'pg';
import type { User } from './auth';
import { json, notFound, Problem, type ApiRequest, type ApiResponse } from './http';
import { listing, pageOf } from './pagination';
import { newOrder, type Order } from './schemas';
import type { Tenant } from './tenant';
import { idOf, parse } from './validate';

interface OrderRow {
  id: string;
  status: Order['status'];
  total_cents: string;
  created_at: Date;
  cancelled_at: Date | null;
  lines: { product_id: number; quantity: number; unit_price_cents: number }[];
}

/** An order with its lines (as JSON, ordered by line number) in one query. */
const SELECT_ORDER = `
  SELECT o.id, o.status, o.total_cents, o.created_at, o.cancelled_at,
    (SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity,
                                       'unit_price_cents', l.unit_price_cents) ORDER BY l.line_no)
       FROM order_lines l WHERE l.order_id = o.id) AS lines
  FROM orders o`;

/**
 * `POST /orders` `{ lines: [{ productId, quantity }] }` -> 201 with the order. In one transaction: each
 * product's stock is taken with a conditional UPDATE (so concurrent orders can never drive it below zero),
 * prices come from the products, and the total is computed here. Products are locked in id order, so two
 * orders never wait on each other in a cycle. Short stock is a 409 and changes nothing.
 */
export async function createOrder(tenant: Tenant, req: ApiRequest, user: User): Promise<ApiResponse> {
  const { lines } = parse(newOrder, req.body);
  const seen = new Map<number, number>();
  lines.forEach((line, i) => {
    if (seen.has(line.productId)) {
      const field = `lines[${i}].productId`;
      throw new Problem(
        400,
        'validation-failed',
        `${field}: product ${line.productId} is already on lines[${seen.get(line.productId)}]`,
        { field },
      );
    }
    seen.set(line.productId, i);
  });
  const order = await tenant.transaction(async (client) => {
    const prices = new Map<number, number>();
    for (const [i, line] of [...lines.entries()].sort(([, a], [, b]) => a.productId - b.productId)) {
      const taken = await client.query<{ price_cents: number }>(
        `UPDATE products SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2
         RETURNING price_cents`,
        [line.productId, line.quantity],
      );
      const price = taken.rows[0]?.price_cents;
      if (price === undefined) await explainShortfall(client, line, `lines[${i}]`);
      else prices.set(line.productId, price);
    }
    const priced = lines.map((line) => ({ ...line, unitPriceCents: prices.get(line.productId) ?? 0 }));
    const total = priced.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
    const inserted = await client.query<{ id: string }>(
      'INSERT INTO orders (total_cents, created_by) VALUES ($1, $2) RETURNING id',
      [total, user.id],
    );
    const orderId = inserted.rows[0]?.id;
    await client.query(
      `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
       SELECT $1, n, p, q, c FROM unnest($2::bigint[], $3::int[], $4::int[]) WITH ORDINALITY AS l(p, q, c, n)`,
      [
        orderId,
        priced.map((l) => l.productId),
        priced.map((l) => l.quantity),
        priced.map((l) => l.unitPriceCents),
      ],
    );
    return readOrder(client, Number(orderId));
  });
  return json(201, order, { location: `/orders/${order.id}` });
}

/** `GET /orders?limit=&cursor=`: newest first. */
export async function listOrders(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const page = pageOf(req);
  const rows = await tenant.withClient(
    async (client) =>
      (
        await client.query<OrderRow>(`${SELECT_ORDER} WHERE o.id < $1 ORDER BY o.id DESC LIMIT $2`, [
          page.cursor ?? Number.MAX_SAFE_INTEGER,
          page.limit + 1,
        ])
      ).rows,
  );
  return json(200, listing(rows.map(toOrder), page));
}

export async function getOrder(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const id = idOf(req.params.id, 'id');
  return json(200, await tenant.withClient((client) => readOrder(client, id)));
}

/** `POST /orders/{id}/cancel`: the order becomes CANCELLED and its stock goes back, once. */
export async function cancelOrder(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const id = idOf(req.params.id, 'id');
  const order = await tenant.transaction(async (client) => {
    const cancelled = await client.query<{ status: string }>(
      `UPDATE orders SET status = 'CANCELLED', cancelled_at = now() WHERE id = $1 AND status = 'PLACED'
       RETURNING status`,
      [id],
    );
    if (cancelled.rowCount === 0) {
      const current = await readOrder(client, id); // 404 when there is no such order
      throw new Problem(409, 'order-not-cancellable', `order ${id} is ${current.status}`);
    }
    // Lock the products in id order first, as createOrder does, so the two never deadlock.
    await client.query(
      `SELECT id FROM products WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = $1)
       ORDER BY id FOR UPDATE`,
      [id],
    );
    await client.query(
      `UPDATE products p SET stock = p.stock + l.quantity, updated_at = now()
       FROM (SELECT product_id, quantity FROM order_lines WHERE order_id = $1) l
       WHERE p.id = l.product_id`,
      [id],
    );
    return readOrder(client, id);
  });
  return json(200, order);
}

async function readOrder(client: PoolClient, id: number): Promise<Order> {
  const row = (await client.query<OrderRow>(`${SELECT_ORDER} WHERE o.id = $1`, [id])).rows[0];
  if (!row) throw notFound(`order ${id}`);
  return toOrder(row);
}

/** Why a line could not take its stock: 404 for an unknown product, 409 for too little stock. */
async function explainShortfall(
  client: PoolClient,
  line: { productId: number; quantity: number },
  field: string,
): Promise<never> {
  const { rows } = await client.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [
    line.productId,
  ]);
  const stock = rows[0]?.stock;
  if (stock === undefined)
    throw new Problem(404, 'not-found', `${field}.productId: product ${line.productId} does not exist`, {
      field: `${field}.productId`,
    });
  throw new Problem(
    409,
    'insufficient-stock',
    `${field}.quantity: product ${line.productId} has ${stock} in stock, ${line.quantity} asked`,
    { field: `${field}.quantity` },
  );
}

function toOrder(row: OrderRow): Order {
  return {
    id: Number(row.id),
    status: row.status,
    totalCents: Number(row.total_cents),
    lines: (row.lines ?? []).map((l) => ({
      productId: Number(l.product_id),
      quantity: l.quantity,
      unitPriceCents: l.unit_price_cents,
    })),
    createdAt: row.created_at.toISOString(),
    cancelledAt: row.cancelled_at?.toISOString() ?? null,
  };
}
