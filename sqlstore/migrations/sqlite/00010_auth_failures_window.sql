-- The lockout prune (sqlstore/lockout.go) deletes the counters whose
-- window started long enough ago: an index on window_start finds them
-- without scanning every subject an attacker made up.

-- +goose Up
CREATE INDEX auth_failures_window_start ON auth_failures (window_start);

-- +goose Down
DROP INDEX auth_failures_window_start;
