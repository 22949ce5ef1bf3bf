package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// RecordAuthFailure counts a failed authentication of subject at now and
// returns until when the subject is locked out, or the zero time. Failures
// count within policy.Window from the first one; a failure after the
// window starts a new count. Reaching policy.MaxFailures locks the subject
// for policy.LockFor and starts a new count, so that after the lock the
// subject has its full number of attempts again. A failure while locked
// changes nothing.
//
// A subject's first failure also deletes a batch of rows whose window
// and lock have both ended, so the table holds little more than the
// subjects that failed recently, however many names are tried.
func (db *DB) RecordAuthFailure(ctx context.Context, subject string, now time.Time, policy dbplane.LockoutPolicy) (time.Time, error) {
	var until time.Time
	err := db.write(ctx, func(tx *Tx) error {
		// Make sure the row exists and lock it on PostgreSQL (the no-op
		// update does), so that concurrent failures are all counted and
		// no concurrent prune deletes it under us.
		if _, err := tx.Exec(ctx, `INSERT INTO auth_failures (subject, failures, window_start) VALUES (?, 0, ?)
			ON CONFLICT (subject) DO UPDATE SET failures = auth_failures.failures`, subject, micros(now)); err != nil {
			return fmt.Errorf("while recording the failure: %w", err)
		}
		var (
			failures int
			start    int64
			locked   sql.NullInt64
		)
		if err := tx.QueryRow(ctx, `SELECT failures, window_start, locked_until FROM auth_failures WHERE subject = ?`+
			db.forUpdate(), subject).Scan(&failures, &start, &locked); err != nil {
			return fmt.Errorf("while reading the failures: %w", err)
		}
		if failures == 0 && !locked.Valid {
			// Just inserted: every stored row has a failure or a lock.
			// Only new rows make the table grow, so pruning here bounds it.
			if err := tx.pruneAuthFailures(ctx, subject, now, policy); err != nil {
				return err
			}
		}
		if locked.Valid && locked.Int64 > micros(now) {
			until = fromMicros(locked.Int64)
			return nil
		}
		if failures == 0 || micros(now)-start >= policy.Window.Microseconds() {
			failures, start = 0, micros(now)
		}
		failures++
		var lockedUntil any // NULL: not locked
		if policy.MaxFailures > 0 && failures >= policy.MaxFailures {
			until = fromMicros(micros(now.Add(policy.LockFor)))
			lockedUntil, failures, start = micros(until), 0, micros(now)
		}
		_, err := tx.Exec(ctx, `UPDATE auth_failures SET failures = ?, window_start = ?, locked_until = ? WHERE subject = ?`,
			failures, start, lockedUntil, subject)
		if err != nil {
			return fmt.Errorf("while recording the failure: %w", err)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, dbplane.E("sqlstore.RecordAuthFailure", err)
	}
	return until, nil
}

// AuthLockedUntil returns until when subject is locked out at now, or the
// zero time.
func (db *DB) AuthLockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error) {
	var until time.Time
	err := db.read(ctx, func(tx *Tx) error {
		var locked int64
		err := tx.QueryRow(ctx, `SELECT locked_until FROM auth_failures WHERE subject = ? AND locked_until > ?`,
			subject, micros(now)).Scan(&locked)
		if isNoRows(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("while reading the lockout: %w", err)
		}
		until = fromMicros(locked)
		return nil
	})
	if err != nil {
		return time.Time{}, dbplane.E("sqlstore.AuthLockedUntil", err)
	}
	return until, nil
}

// ClearAuthFailures forgets subject's failures and lockout.
func (db *DB) ClearAuthFailures(ctx context.Context, subject string) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM auth_failures WHERE subject = ?`, subject)
		return err
	})
	return dbplane.E("sqlstore.ClearAuthFailures", err)
}

// pruneBatch bounds the rows one failure prunes: more than the one row it
// may add, so stale rows never pile up, and few enough to keep the
// failure's transaction short.
const pruneBatch = 100

// pruneAuthFailures deletes up to pruneBatch rows, other than keep's,
// whose failure window and lock have both ended at now: they lock nobody
// and the next failure would start their count afresh. The staleness is
// checked again outside the subquery, so that on PostgreSQL a row updated
// meanwhile by a failure of its subject is kept; SKIP LOCKED passes over
// rows being updated.
func (tx *Tx) pruneAuthFailures(ctx context.Context, keep string, now time.Time, policy dbplane.LockoutPolicy) error {
	const stale = `window_start <= ? AND (locked_until IS NULL OR locked_until <= ?)`
	windowEnd, n := micros(now.Add(-policy.Window)), micros(now)
	_, err := tx.Exec(ctx, `DELETE FROM auth_failures WHERE `+stale+` AND subject IN (
		SELECT subject FROM auth_failures WHERE `+stale+` AND subject <> ? LIMIT ?`+tx.db.forUpdateSkipLocked()+`)`,
		windowEnd, n, windowEnd, n, keep, pruneBatch)
	if err != nil {
		return fmt.Errorf("while pruning old failures: %w", err)
	}
	return nil
}
