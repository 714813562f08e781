package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/as2gate/as2gate"
)

// A job is claimable when it is due (run_at <= now) and not leased, or its
// lease has ended (lease_until <= now): the work of a crashed worker is
// taken up again once its lease ends.

const jobColumns = `id, kind, message_id, run_at, attempts, lease_owner, lease_until, last_error, created_at`

func scanJob(r rowScanner) (as2gate.Job, error) {
	var j as2gate.Job
	var owner sql.NullString
	var runAt, created int64
	var until sql.NullInt64
	if err := r.Scan(&j.ID, &j.Kind, &j.MessageID, &runAt, &j.Attempts, &owner, &until, &j.LastError, &created); err != nil {
		return as2gate.Job{}, err
	}
	j.LeaseOwner, j.LeaseUntil = owner.String, fromNullMillis(until)
	j.RunAt, j.CreatedAt = fromMillis(runAt), fromMillis(created)
	return j, nil
}

// insertJob adds a job of a message; a zero RunAt means now.
func insertJob(ctx context.Context, tx *sql.Tx, j as2gate.Job, messageID string, created time.Time) error {
	if j.MessageID != "" && j.MessageID != messageID {
		return as2gate.Invalid("jobs", "a job of message %s cannot be added with message %s", j.MessageID, messageID)
	}
	if j.Kind == "" {
		return as2gate.Invalid("jobs", "a job needs a kind")
	}
	id := orNewID(j.ID)
	_, err := tx.ExecContext(ctx, `INSERT INTO jobs (`+jobColumns+`) VALUES (`+placeholders(1, 9)+`)`,
		id, string(j.Kind), messageID, millis(orNow(j.RunAt)), j.Attempts,
		nullString(j.LeaseOwner), nullMillis(j.LeaseUntil), cleanText(j.LastError), millis(created))
	if err != nil {
		return dbError(err, "cannot add a %s job to message %s", j.Kind, messageID)
	}
	return nil
}

// applyJobChange applies a JobChange to the jobs of a message within the
// transaction that updates it.
func applyJobChange(ctx context.Context, tx *sql.Tx, messageID string, c as2gate.JobChange, now time.Time) error {
	if c.Done != "" {
		a := args{c.Done, messageID}
		n, err := affected(tx.ExecContext(ctx, heldBy(`DELETE FROM jobs WHERE id = $1 AND message_id = $2`, &a, c.Owner), a...))
		if err != nil {
			return dbError(err, "cannot remove job %s", c.Done)
		}
		if n == 0 {
			return jobNotHeld(c.Done, messageID, c.Owner)
		}
	}
	if r := c.Retry; r != nil {
		a := args{r.ID, messageID, millis(orNow(r.RunAt)), cleanText(r.LastError)} // may quote a partner
		n, err := affected(tx.ExecContext(ctx, heldBy(`UPDATE jobs SET run_at = $3, last_error = $4, lease_owner = NULL, lease_until = NULL
			WHERE id = $1 AND message_id = $2`, &a, c.Owner), a...))
		if err != nil {
			return dbError(err, "cannot reschedule job %s", r.ID)
		}
		if n == 0 {
			return jobNotHeld(r.ID, messageID, c.Owner)
		}
	}
	if len(c.CancelKinds) > 0 {
		a := args{messageID}
		kinds := make([]any, len(c.CancelKinds))
		for i, k := range c.CancelKinds {
			kinds[i] = string(k)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE message_id = $1 AND kind IN (`+a.list(kinds...)+`)`, a...); err != nil {
			return dbError(err, "cannot cancel the jobs of message %s", messageID)
		}
	}
	for _, j := range c.Enqueue {
		if err := insertJob(ctx, tx, j, messageID, now); err != nil {
			return err
		}
	}
	return nil
}

// heldBy restricts a statement on one job to the job leased to owner,
// when owner is set.
func heldBy(query string, a *args, owner string) string {
	if owner == "" {
		return query
	}
	return query + " AND lease_owner = " + a.add(owner)
}

func jobNotHeld(jobID, messageID, owner string) error {
	if owner != "" {
		return as2gate.Errorf(as2gate.ENotFound, "job %s of message %s is not leased to %s", jobID, messageID, owner)
	}
	return as2gate.Errorf(as2gate.ENotFound, "job %s of message %s not found", jobID, messageID)
}

// ClaimJob leases the next claimable job to owner until now+lease, in one
// statement: on PostgreSQL concurrent claimers skip the row another is
// taking (SKIP LOCKED); on SQLite the statement holds the write lock.
func (s *Store) ClaimJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*as2gate.Job, error) {
	if owner == "" {
		return nil, as2gate.Invalid("owner", "a job needs an owner to be claimed")
	}
	if lease <= 0 {
		return nil, as2gate.Invalid("lease", "must be positive, not %v", lease)
	}
	var j as2gate.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
		WHERE id = (SELECT id FROM jobs WHERE run_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY run_at, id LIMIT 1`+s.d.skipLocked+`)
		RETURNING `+jobColumns, owner, millis(now.Add(lease)), millis(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing due: no failure, nothing to roll back
		}
		return err
	})
	if err == nil && j.ID == "" {
		err = sql.ErrNoRows
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err, "cannot claim a job")
	}
	return &j, nil
}

// ExtendLease moves the end of owner's lease on a job to until.
func (s *Store) ExtendLease(ctx context.Context, jobID, owner string, until time.Time) error {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = affected(tx.ExecContext(ctx, `UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2`,
			jobID, owner, millis(until)))
		return err
	})
	if err != nil {
		return dbError(err, "cannot extend the lease of job %s", jobID)
	}
	if n > 0 {
		return nil
	}
	ok, err := exists(ctx, s.db, "jobs", jobID)
	if err != nil {
		return dbError(err, "cannot extend the lease of job %s", jobID)
	}
	if ok {
		return as2gate.Errorf(as2gate.EConflict, "job %s is no longer leased to %s", jobID, owner)
	}
	return as2gate.Errorf(as2gate.ENotFound, "job %s not found", jobID)
}

// NextJobTime returns when the next job becomes claimable: its run_at, or
// the end of its lease when it is leased; zero when there are no jobs.
func (s *Store) NextJobTime(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > run_at THEN lease_until ELSE run_at END) FROM jobs`).Scan(&next)
	if err != nil {
		return time.Time{}, dbError(err, "cannot read the job queue")
	}
	return fromNullMillis(next), nil
}

// ListJobs returns the jobs of a message, in order of run_at.
func (s *Store) ListJobs(ctx context.Context, messageID string) ([]as2gate.Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE message_id = $1 ORDER BY run_at, id`, messageID)
	if err != nil {
		return nil, dbError(err, "cannot list the jobs of message %s", messageID)
	}
	defer rows.Close()
	var list []as2gate.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, dbError(err, "cannot list the jobs of message %s", messageID)
		}
		list = append(list, j)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list the jobs of message %s", messageID)
	}
	return list, nil
}
