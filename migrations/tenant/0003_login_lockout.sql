-- Online password guessing: after 5 wrong passwords in a row an account is locked for a while.
ALTER TABLE users
  ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
  ADD COLUMN locked_until timestamptz;
