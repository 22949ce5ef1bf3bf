package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCacheMax bounds the number of cached statements. Queries with a
// variable number of placeholders make new texts; past the bound they are
// simply parsed each time.
const stmtCacheMax = 512

// stmtCache keeps prepared statements by pool and query text. A statement
// cannot be prepared on a pool while a transaction holds its only
// connection (SQLite's writer), so a transaction notes the queries it lacked
// and they are prepared after it ends; database/sql then prepares each on a
// connection once and reuses it in every transaction on that connection.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

func (c *stmtCache) get(pool *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[stmtKey{pool, query}]
}

// prepare prepares the queries not cached yet. A query that fails to
// prepare is left uncached: running it unprepared reports the error.
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, queries []string) {
	for _, q := range queries {
		key := stmtKey{pool, q}
		c.mu.Lock()
		_, have := c.stmts[key]
		full := len(c.stmts) >= stmtCacheMax
		c.mu.Unlock()
		if have || full {
			continue
		}
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, have := c.stmts[key]; have {
			st.Close()
		} else {
			if c.stmts == nil {
				c.stmts = map[stmtKey]*sql.Stmt{}
			}
			c.stmts[key] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, k)
	}
	return errors.Join(errs...)
}
