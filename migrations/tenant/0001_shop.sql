-- The shop schema every tenant database gets.
CREATE TABLE users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text NOT NULL UNIQUE CHECK (email = lower(email) AND position('@' IN email) > 1),
  role           text NOT NULL CHECK (role IN ('admin', 'staff')),
  password_hash  text,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku            text NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price_cents    integer NOT NULL CHECK (price_cents >= 0),
  stock          integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status         text NOT NULL DEFAULT 'PLACED' CHECK (status IN ('PLACED', 'CANCELLED')),
  total_cents    bigint NOT NULL CHECK (total_cents >= 0),
  created_by     bigint REFERENCES users (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  cancelled_at   timestamptz
);

CREATE TABLE order_lines (
  order_id          bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no           integer NOT NULL CHECK (line_no > 0),
  product_id        bigint NOT NULL REFERENCES products (id),
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line_no)
);

CREATE INDEX order_lines_product_idx ON order_lines (product_id);
CREATE INDEX orders_created_at_idx ON orders (created_at DESC);
