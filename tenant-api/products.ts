import { json, noContent, notFound, Problem, type ApiRequest, type ApiResponse } from './http';
import { listing, pageOf } from './pagination';
import { newProduct, productChanges, searchText, type Product } from './schemas';
import type { Tenant } from './tenant';
import { idOf, parse } from './validate';

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  price_cents: number;
  stock: number;
}

const COLUMNS = 'id, sku, name, price_cents, stock';

/** `GET /products?q=&limit=&cursor=`: by id; `q` matches name or SKU, as plain text. */
export async function listProducts(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const page = pageOf(req);
  const q = req.query.q === undefined ? '' : parse(searchText, req.query.q, 'q');
  const pattern = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = await tenant.withClient(async (client) => {
    const result = await client.query<ProductRow>(
      `SELECT ${COLUMNS} FROM products
       WHERE id > $1 AND ($2::text IS NULL OR name ILIKE $2 OR sku ILIKE $2)
       ORDER BY id LIMIT $3`,
      [page.cursor ?? 0, pattern, page.limit + 1],
    );
    return result.rows;
  });
  return json(200, listing(rows.map(toProduct), page));
}

export async function getProduct(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const id = idOf(req.params.id, 'id');
  const row = await tenant.withClient(
    async (client) =>
      (await client.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id])).rows[0],
  );
  if (!row) throw notFound(`product ${id}`);
  return json(200, toProduct(row));
}

/** `POST /products` `{ sku, name, priceCents, stock? }` -> 201 with the product. */
export async function createProduct(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const input = parse(newProduct, req.body);
  const row = await uniqueSku(input.sku, () =>
    tenant.transaction(
      async (client) =>
        (
          await client.query<ProductRow>(
            `INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
            [input.sku, input.name, input.priceCents, input.stock ?? 0],
          )
        ).rows[0],
    ),
  );
  if (!row) throw new Error('INSERT returned no row');
  return json(201, toProduct(row), { location: `/products/${row.id}` });
}

/** `PATCH /products/{id}` with any of `{ sku, name, priceCents, stock }`. */
export async function updateProduct(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const id = idOf(req.params.id, 'id');
  const input = parse(productChanges, req.body);
  const row = await uniqueSku(input.sku, () =>
    tenant.transaction(
      async (client) =>
        (
          await client.query<ProductRow>(
            `UPDATE products SET sku = coalesce($2, sku), name = coalesce($3, name),
               price_cents = coalesce($4, price_cents), stock = coalesce($5, stock), updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
            [id, input.sku ?? null, input.name ?? null, input.priceCents ?? null, input.stock ?? null],
          )
        ).rows[0],
    ),
  );
  if (!row) throw notFound(`product ${id}`);
  return json(200, toProduct(row));
}

/** `DELETE /products/{id}`: 204, or 409 when orders name it (their lines keep pointing at it). */
export async function deleteProduct(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const id = idOf(req.params.id, 'id');
  const deleted = await tenant.transaction(async (client) => {
    try {
      return (await client.query('DELETE FROM products WHERE id = $1', [id])).rowCount ?? 0;
    } catch (error) {
      if ((error as { code?: string }).code === '23503')
        throw new Problem(409, 'product-in-use', `product ${id} is on orders; set its stock to 0 instead`);
      throw error;
    }
  });
  if (deleted === 0) throw notFound(`product ${id}`);
  return noContent();
}

export function toProduct(row: ProductRow): Product {
  return { id: Number(row.id), sku: row.sku, name: row.name, priceCents: row.price_cents, stock: row.stock };
}

/** Runs a write, answering 409 when it breaks SKU uniqueness. */
async function uniqueSku<T>(sku: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if ((error as { code?: string }).code === '23505')
      throw new Problem(409, 'sku-taken', `sku ${JSON.stringify(sku)} is taken by another product`, {
        field: 'sku',
      });
    throw error;
  }
}
