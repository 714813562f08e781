package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/as2gate/as2gate"
)

const stationColumns = `id, as2_id, name, description, email, cert_id, next_cert_id, created_at, updated_at`

func scanStation(r rowScanner) (*as2gate.Station, error) {
	var st as2gate.Station
	var next sql.NullString
	var created, updated int64
	if err := r.Scan(&st.ID, &st.AS2ID, &st.Name, &st.Description, &st.Email, &st.CertID, &next,
		&created, &updated); err != nil {
		return nil, err
	}
	st.NextCertID, st.CreatedAt, st.UpdatedAt = next.String, fromMillis(created), fromMillis(updated)
	return &st, nil
}

// CreateStation stores st, giving it an ID and a creation time when it has none.
func (s *Store) CreateStation(ctx context.Context, st *as2gate.Station) error {
	id, created := orNewID(st.ID), orNow(st.CreatedAt)
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := checkCertificates(ctx, tx, certRef{"cert_id", st.CertID}, certRef{"next_cert_id", st.NextCertID}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stations (`+stationColumns+`) VALUES (`+placeholders(1, 9)+`)`,
			id, st.AS2ID, st.Name, st.Description, st.Email, st.CertID, nullString(st.NextCertID),
			millis(created), millis(created))
		return stationWriteError(err, st)
	})
	if err != nil {
		return err
	}
	st.ID, st.CreatedAt, st.UpdatedAt = id, created, created
	return nil
}

func stationWriteError(err error, st *as2gate.Station) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return as2gate.Wrap(as2gate.EConflict, err, "a station with AS2 ID %q already exists", st.AS2ID)
	case isForeignKey(err): // a certificate deleted meanwhile
		return as2gate.Wrap(as2gate.EConflict, err, "a certificate of station %q was deleted meanwhile", st.AS2ID)
	}
	return dbError(err, "cannot save station %q", st.AS2ID)
}

// GetStation returns a station by ID.
func (s *Store) GetStation(ctx context.Context, id string) (*as2gate.Station, error) {
	return s.getStation(ctx, "id", id, "station "+id)
}

// GetStationByAS2ID returns a station by AS2 ID.
func (s *Store) GetStationByAS2ID(ctx context.Context, as2ID string) (*as2gate.Station, error) {
	return s.getStation(ctx, "as2_id", as2ID, "station with AS2 ID "+as2ID)
}

func (s *Store) getStation(ctx context.Context, column, value, what string) (*as2gate.Station, error) {
	st, err := scanStation(s.db.QueryRowContext(ctx, `SELECT `+stationColumns+` FROM stations WHERE `+column+` = $1`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "%s not found", what)
	}
	if err != nil {
		return nil, dbError(err, "cannot read %s", what)
	}
	return st, nil
}

// ListStations returns all stations by AS2 ID.
func (s *Store) ListStations(ctx context.Context) ([]*as2gate.Station, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+stationColumns+` FROM stations ORDER BY as2_id`)
	if err != nil {
		return nil, dbError(err, "cannot list stations")
	}
	defer rows.Close()
	var list []*as2gate.Station
	for rows.Next() {
		st, err := scanStation(rows)
		if err != nil {
			return nil, dbError(err, "cannot list stations")
		}
		list = append(list, st)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list stations")
	}
	return list, nil
}

// UpdateStation saves st (all fields but ID and creation time).
func (s *Store) UpdateStation(ctx context.Context, st *as2gate.Station) error {
	updated := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := checkCertificates(ctx, tx, certRef{"cert_id", st.CertID}, certRef{"next_cert_id", st.NextCertID}); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE stations SET as2_id = $2, name = $3, description = $4, email = $5,
			cert_id = $6, next_cert_id = $7, updated_at = $8 WHERE id = $1`,
			st.ID, st.AS2ID, st.Name, st.Description, st.Email, st.CertID, nullString(st.NextCertID), millis(updated)))
		if err != nil {
			return stationWriteError(err, st)
		}
		if n == 0 {
			return as2gate.Errorf(as2gate.ENotFound, "station %s not found", st.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.UpdatedAt = updated
	return nil
}

// DeleteStation deletes a station without messages in progress; its other
// messages stay, with their station's AS2 ID.
func (s *Store) DeleteStation(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.deleteWithMessages(ctx, tx, "stations", "station_id", "station", id)
	})
}

// deleteWithMessages deletes a station or a partner unless messages in
// progress refer to it. The row is locked first (PostgreSQL), so that no
// message referring to it can be added between the check and the delete.
func (s *Store) deleteWithMessages(ctx context.Context, tx *sql.Tx, table, column, what, id string) error {
	var as2ID string
	err := tx.QueryRowContext(ctx, `SELECT as2_id FROM `+table+` WHERE id = $1`+s.d.forUpdate, id).Scan(&as2ID)
	if errors.Is(err, sql.ErrNoRows) {
		return as2gate.Errorf(as2gate.ENotFound, "%s %s not found", what, id)
	}
	if err != nil {
		return dbError(err, "cannot delete %s %s", what, id)
	}
	var a args
	q := `SELECT COUNT(*) FROM messages WHERE ` + column + ` = ` + a.add(id) + ` AND status IN (` +
		a.list(string(as2gate.StatusQueued), string(as2gate.StatusSending), string(as2gate.StatusAwaitingMDN)) + `)`
	var n int
	if err := tx.QueryRowContext(ctx, q, a...).Scan(&n); err != nil {
		return dbError(err, "cannot delete %s %s", what, id)
	}
	if n > 0 {
		return as2gate.Errorf(as2gate.EConflict, "%s %q has %d message(s) in progress", what, as2ID, n)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
		return dbError(err, "cannot delete %s %s", what, id)
	}
	return nil
}

// certRef is a certificate a station or partner refers to, by field.
type certRef struct{ field, id string }

// checkCertificates refuses references to missing certificates with a
// validation error naming the field.
func checkCertificates(ctx context.Context, q querier, refs ...certRef) error {
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		ok, err := exists(ctx, q, "certificates", r.id)
		if err != nil {
			return dbError(err, "cannot check certificate %s", r.id)
		}
		if !ok {
			return as2gate.Invalid(r.field, "certificate %s not found", r.id)
		}
	}
	return nil
}
