-- Sign-in for the tenant API: a password change revokes every token issued before it.
ALTER TABLE users
  ADD COLUMN token_version integer NOT NULL DEFAULT 0,
  ADD COLUMN password_changed_at timestamptz;
