-- The accounts that signed in successfully from a client address in the last 30 days (IDN-04,
-- issue 19 finding 8): a client's allowance of failed sign-ins grows with them, so an office
-- behind one address is not locked out by the typos of a few, while a client nobody signs in
-- from keeps the small allowance. Both columns are keyed hashes (the instance's blind-index
-- key) of "ip:<address>" and "account:<address>", so the table names nobody.
CREATE TABLE sign_in_regulars (
    client_bucket BYTEA NOT NULL,
    account_bucket BYTEA NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (client_bucket, account_bucket)
);
CREATE INDEX sign_in_regulars_by_account ON sign_in_regulars (account_bucket);
