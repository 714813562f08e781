package sqlstore

import (
	"context"
	"strings"

	"github.com/as2gate/as2gate"
)

const auditColumns = `id, at, actor, action, target, remote, result, detail`

// AppendAudit stores e, giving it an ID and a time when it has none.
func (s *Store) AppendAudit(ctx context.Context, e *as2gate.AuditEntry) error {
	id, at := orNewID(e.ID), orNow(e.At)
	// A target may be a name someone typed at the login: any bytes.
	for _, f := range []*string{&e.Actor, &e.Target, &e.Remote, &e.Detail} {
		*f = cleanText(*f)
	}
	_, err := s.exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, millis(at), e.Actor, e.Action, e.Target, e.Remote, e.Result, e.Detail)
	if err != nil {
		return dbError(err, "cannot record %s in the audit log", e.Action)
	}
	e.ID, e.At = id, at
	return nil
}

// ListAudit returns the entries matching f, newest first: at most f.Limit
// (50 when zero, 1000 at most) after the cursor f.After.
func (s *Store) ListAudit(ctx context.Context, f as2gate.AuditFilter) ([]*as2gate.AuditEntry, error) {
	var a args
	var where []string
	if f.Actor != "" {
		where = append(where, "actor = "+a.add(f.Actor))
	}
	if f.Action != "" {
		where = append(where, "action = "+a.add(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+a.add(millis(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+a.add(millis(f.Until)))
	}
	if f.After != "" {
		where = append(where, "id < "+a.add(f.After))
	}
	query := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ` + a.add(pageSize(f.Limit))
	rows, err := s.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, dbError(err, "cannot read the audit log")
	}
	defer rows.Close()
	var list []*as2gate.AuditEntry
	for rows.Next() {
		var e as2gate.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Remote, &e.Result, &e.Detail); err != nil {
			return nil, dbError(err, "cannot read the audit log")
		}
		e.At = fromMillis(at)
		list = append(list, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot read the audit log")
	}
	return list, nil
}
