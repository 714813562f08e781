package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
)

// messageFields are the columns an update sets, in the order of
// messageValues; id, direction, created_at and version are set on insert.
var messageFields = []string{
	"station_id", "partner_id", "station_as2_id", "partner_as2_id", "message_id",
	"subject", "status", "reason", "attempts",
	"signed", "encrypted", "compressed", "algorithms", "mic",
	"mdn_mode", "mdn_url", "mdn_signed", "mdn_message_id", "mdn_disposition", "mdn_status", "mic_matched",
	"folder", "raw_key", "mdn_key", "size", "updated_at", "completed_at",
}

var messageColumns = "id, direction, created_at, version, " + strings.Join(messageFields, ", ")

// selectColumns adds what only SetMessageRead writes, so that an update
// from a stale copy cannot undo it.
var selectColumns = messageColumns + ", read_at"

func messageValues(m *as2gate.Message, updated time.Time) []any {
	var micMatched any
	if m.MICMatched != nil {
		micMatched = *m.MICMatched
	}
	return []any{
		nullString(m.StationID), nullString(m.PartnerID), m.StationAS2ID, m.PartnerAS2ID, m.MessageID,
		m.Subject, string(m.Status), m.Reason, m.Attempts,
		m.Signed, m.Encrypted, m.Compressed, m.Algorithms, m.MIC,
		m.MDNMode, m.MDNURL, m.MDNSigned, m.MDNMessageID, m.MDNDisposition, m.MDNStatus, micMatched,
		m.Folder, m.RawKey, m.MDNKey, m.Size, millis(updated), nullMillis(m.CompletedAt),
	}
}

func scanMessage(r rowScanner) (*as2gate.Message, error) {
	var m as2gate.Message
	var station, partner sql.NullString
	var micMatched sql.NullBool
	var created, updated int64
	var completed, read sql.NullInt64
	if err := r.Scan(&m.ID, &m.Direction, &created, &m.Version,
		&station, &partner, &m.StationAS2ID, &m.PartnerAS2ID, &m.MessageID,
		&m.Subject, &m.Status, &m.Reason, &m.Attempts,
		&m.Signed, &m.Encrypted, &m.Compressed, &m.Algorithms, &m.MIC,
		&m.MDNMode, &m.MDNURL, &m.MDNSigned, &m.MDNMessageID, &m.MDNDisposition, &m.MDNStatus, &micMatched,
		&m.Folder, &m.RawKey, &m.MDNKey, &m.Size, &updated, &completed, &read); err != nil {
		return nil, err
	}
	m.StationID, m.PartnerID = station.String, partner.String
	if micMatched.Valid {
		m.MICMatched = &micMatched.Bool
	}
	m.CreatedAt, m.UpdatedAt, m.CompletedAt = fromMillis(created), fromMillis(updated), fromNullMillis(completed)
	m.ReadAt = fromNullMillis(read)
	return &m, nil
}

// messageWriteError maps the constraint errors of a message insert or update.
func messageWriteError(err error, m *as2gate.Message) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return as2gate.Wrap(as2gate.EConflict, err, "message %s from partner %q was already received", m.MessageID, m.PartnerAS2ID)
	case isForeignKey(err):
		return as2gate.Wrap(as2gate.EConflict, err, "the station or partner of message %s no longer exists", m.MessageID)
	}
	return dbError(err, "cannot save message %s", m.MessageID)
}

// CreateMessage inserts m with its files and jobs. It gives m an ID, a
// creation and an update time when it has none, and sets its Version to 0.
func (s *Store) CreateMessage(ctx context.Context, m *as2gate.Message, jobs ...as2gate.Job) error {
	cleanMessageText(m)
	id, created := orNewID(m.ID), orNow(m.CreatedAt)
	updated := created
	if !m.UpdatedAt.IsZero() {
		updated = fromMillis(millis(m.UpdatedAt))
	}
	err := s.write(ctx, func(tx *sql.Tx) error { return insertMessage(ctx, tx, m, id, created, updated, jobs) })
	if err != nil {
		return err
	}
	m.ID, m.CreatedAt, m.UpdatedAt, m.Version = id, created, updated, 0
	return nil
}

func insertMessage(ctx context.Context, tx *sql.Tx, m *as2gate.Message, id string, created, updated time.Time, jobs []as2gate.Job) error {
	values := append([]any{id, string(m.Direction), millis(created), 0}, messageValues(m, updated)...)
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (`+placeholders(1, len(values))+`)`, values...)
	if err != nil {
		return messageWriteError(err, m)
	}
	if err := insertFiles(ctx, tx, id, m.Files); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := insertJob(ctx, tx, j, id, created); err != nil {
			return err
		}
	}
	return nil
}

// UpdateMessage saves m if its Version is the stored one, replaces its
// files when they differ from the stored ones, and applies the job change,
// all in one transaction. The job change is applied in the order Done,
// Retry, CancelKinds, Enqueue, so that a kind can be canceled and enqueued
// again at once.
func (s *Store) UpdateMessage(ctx context.Context, m *as2gate.Message, jobs as2gate.JobChange) error {
	cleanMessageText(m)
	updated := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		a := args{m.ID, m.Version}
		sets := make([]string, len(messageFields))
		for i, v := range messageValues(m, updated) {
			sets[i] = messageFields[i] + " = " + a.add(v)
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE messages SET `+strings.Join(sets, ", ")+
			`, version = version + 1 WHERE id = $1 AND version = $2`, a...))
		if err != nil {
			return messageWriteError(err, m)
		}
		if n == 0 {
			ok, err := exists(ctx, tx, "messages", m.ID)
			if err != nil {
				return dbError(err, "cannot save message %s", m.ID)
			}
			if ok {
				return as2gate.Errorf(as2gate.EConflict, "message %s changed meanwhile", m.ID)
			}
			return as2gate.Errorf(as2gate.ENotFound, "message %s not found", m.ID)
		}
		stored, err := loadFiles(ctx, tx, []string{m.ID})
		if err != nil {
			return dbError(err, "cannot read the files of message %s", m.ID)
		}
		if !slices.Equal(stored[m.ID], m.Files) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_files WHERE message_id = $1`, m.ID); err != nil {
				return dbError(err, "cannot save the files of message %s", m.ID)
			}
			if err := insertFiles(ctx, tx, m.ID, m.Files); err != nil {
				return err
			}
		}
		return applyJobChange(ctx, tx, m.ID, jobs, updated)
	})
	if err != nil {
		return err
	}
	m.Version++
	m.UpdatedAt = updated
	return nil
}

// SetMessageRead sets the read time of a message (zero: unread). It is no
// update of the message: its Version stays, so that it never conflicts
// with the gateway's work on the message.
func (s *Store) SetMessageRead(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE messages SET read_at = $2 WHERE id = $1`, id, nullMillis(at)))
	if err != nil {
		return dbError(err, "cannot mark message %s", id)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "message %s not found", id)
	}
	return nil
}

// DeleteMessage removes a message, its files and its jobs in one
// transaction, unless it is being sent, and returns it as it was.
func (s *Store) DeleteMessage(ctx context.Context, id string) (*as2gate.Message, error) {
	var m *as2gate.Message
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The row lock (PostgreSQL) holds off a worker starting to send
		// until the delete commits; the worker then finds no message.
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, `SELECT `+selectColumns+` FROM messages WHERE id = $1`+s.d.forUpdate, id))
		if errors.Is(err, sql.ErrNoRows) {
			return as2gate.Errorf(as2gate.ENotFound, "message %s not found", id)
		}
		if err != nil {
			return dbError(err, "cannot read message %s", id)
		}
		if m.Status == as2gate.StatusSending {
			return as2gate.Errorf(as2gate.EConflict, "message %s is being sent; cancel or delete it once the attempt ends", id)
		}
		files, err := loadFiles(ctx, tx, []string{id})
		if err != nil {
			return dbError(err, "cannot read the files of message %s", id)
		}
		m.Files = files[id]
		// Files and jobs go with it (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = $1`, id); err != nil {
			return dbError(err, "cannot delete message %s", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func insertFiles(ctx context.Context, tx *sql.Tx, messageID string, files []as2gate.File) error {
	for i, f := range files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_files (message_id, idx, name, content_type, size, blob_key, sha256)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, messageID, i, f.Name, f.ContentType, f.Size, f.Key, f.SHA256); err != nil {
			return dbError(err, "cannot save the files of message %s", messageID)
		}
	}
	return nil
}

// loadFiles returns the files of messages, by message ID, in one query.
func loadFiles(ctx context.Context, q querier, ids []string) (map[string][]as2gate.File, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var a args
	in := make([]any, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT message_id, name, content_type, size, blob_key, sha256 FROM message_files
		WHERE message_id IN (`+a.list(in...)+`) ORDER BY message_id, idx`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	files := make(map[string][]as2gate.File, len(ids))
	for rows.Next() {
		var id string
		var f as2gate.File
		if err := rows.Scan(&id, &f.Name, &f.ContentType, &f.Size, &f.Key, &f.SHA256); err != nil {
			return nil, err
		}
		files[id] = append(files[id], f)
	}
	return files, rows.Err()
}

// queryMessages runs a query for messages and loads their files, in one
// read transaction so that files and messages agree.
func (s *Store) queryMessages(ctx context.Context, what, query string, a ...any) ([]*as2gate.Message, error) {
	var list []*as2gate.Message
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, a...)
		if err != nil {
			return dbError(err, "cannot read %s", what)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return dbError(err, "cannot read %s", what)
			}
			list = append(list, m)
			ids = append(ids, m.ID)
		}
		if err := rows.Err(); err != nil {
			return dbError(err, "cannot read %s", what)
		}
		rows.Close()
		files, err := loadFiles(ctx, tx, ids)
		if err != nil {
			return dbError(err, "cannot read the files of %s", what)
		}
		for _, m := range list {
			m.Files = files[m.ID]
		}
		return nil
	})
	return list, err
}

// getMessage returns the one message a query finds, ENotFound when none.
func (s *Store) getMessage(ctx context.Context, what, query string, a ...any) (*as2gate.Message, error) {
	list, err := s.queryMessages(ctx, what, query, a...)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, as2gate.Errorf(as2gate.ENotFound, "%s not found", what)
	}
	return list[0], nil
}

// GetMessage returns a message by ID, with its files.
func (s *Store) GetMessage(ctx context.Context, id string) (*as2gate.Message, error) {
	return s.getMessage(ctx, "message "+id, `SELECT `+selectColumns+` FROM messages WHERE id = $1`, id)
}

// FindMessage finds a message by its AS2 Message-ID, exchanged with a
// partner (with no partner when partnerID is empty): the one received
// successfully if any, else the newest.
func (s *Store) FindMessage(ctx context.Context, partnerID string, dir as2gate.Direction, as2MessageID string) (*as2gate.Message, error) {
	a := args{string(dir), as2MessageID, string(as2gate.StatusReceived)}
	partner := "partner_id IS NULL"
	if partnerID != "" {
		partner = "partner_id = " + a.add(partnerID)
	}
	return s.getMessage(ctx, "message "+as2MessageID, `SELECT `+selectColumns+` FROM messages
		WHERE direction = $1 AND message_id = $2 AND `+partner+`
		ORDER BY CASE WHEN status = $3 THEN 0 ELSE 1 END, id DESC LIMIT 1`, a...)
}

// Page sizes of lists.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// pageSize is the number of rows a page asks for: the default for zero or
// less, at most maxLimit.
func pageSize(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return min(limit, maxLimit)
}

// ListMessages returns the messages matching f, newest first, with their
// files: at most f.Limit (50 when zero, 1000 at most) after the cursor f.After.
func (s *Store) ListMessages(ctx context.Context, f as2gate.MessageFilter) ([]*as2gate.Message, error) {
	query, a := listQuery(f)
	return s.queryMessages(ctx, "messages", query, a...)
}

// listQuery is the query of ListMessages, and its arguments.
func listQuery(f as2gate.MessageFilter) (string, args) {
	var a args
	var where []string
	eq := func(column, value string) {
		if value != "" {
			where = append(where, column+" = "+a.add(value))
		}
	}
	eq("direction", string(f.Direction))
	eq("station_id", f.StationID)
	eq("partner_id", f.PartnerID)
	eq("message_id", f.MessageID)
	if len(f.Status) > 0 {
		statuses := make([]any, len(f.Status))
		for i, st := range f.Status {
			statuses[i] = string(st)
		}
		where = append(where, "status IN ("+a.list(statuses...)+")")
	}
	if f.Subject != "" {
		// Case-insensitive on both engines (ASCII only on SQLite).
		where = append(where, `LOWER(subject) LIKE LOWER(`+a.add("%"+escapeLike(f.Subject)+"%")+`) ESCAPE '\'`)
	}
	// The time of a message is that of its ID (see MessageFilter), so a
	// window is a range of the primary key or of the indexes ending in id.
	if !f.Since.IsZero() {
		where = append(where, "id >= "+a.add(as2gate.IDFloor(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "id < "+a.add(as2gate.IDFloor(f.Until)))
	}
	// Read state is one of inbound messages. The literals, not parameters,
	// let the planners match the partial index messages_unread, whose
	// WHERE they must see implied by the query's.
	if f.Read != nil {
		if *f.Read {
			where = append(where, "direction = 'in' AND read_at IS NOT NULL")
		} else {
			where = append(where, "direction = 'in' AND read_at IS NULL")
		}
	}
	if f.After != "" {
		where = append(where, "id < "+a.add(f.After))
	}
	query := `SELECT ` + selectColumns + ` FROM messages`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ` + a.add(pageSize(f.Limit))
	return query, a
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
